import { KdnetErrorCode, kdnetError } from './errors.js';

/** The three keys of one KDNET configuration (kd-protocol.md §3, kdnet.md §4). */
export interface KdnetKeys {
  /** The `w.x.y.z` text, normalised to lower case. */
  readonly text: string;
  /** 32 bytes: each component as a 64-bit little-endian value. Encrypts the control channel. */
  readonly controlKey: Uint8Array;
  /** The bitwise NOT of every control-key byte; authenticates both channels. */
  readonly hmacKey: Uint8Array;
}

const MAX_U64 = (1n << 64n) - 1n;
const COMPONENT = /^[0-9a-z]{1,13}$/;

/**
 * Parses a KDNET key `w.x.y.z` (bcdedit's `key:`, WinDbg's `key=`): four base-36 numbers of
 * 1–13 characters, each a 64-bit value. A bad key is a usage error naming the component, never a
 * session that silently fails to authenticate (kdnet.md §4).
 *
 * Byte order: each value is stored as 8 little-endian bytes (radare2's decoder). Every public
 * vector uses components below 256, where byte order does not matter (kd-protocol.md §3).
 */
export function parseKdnetKey(text: string): KdnetKeys {
  const parts = text.trim().toLowerCase().split('.');
  if (parts.length !== 4) {
    throw kdnetError(KdnetErrorCode.BadKey, `KDNET key "${text}" must have four dot-separated parts (w.x.y.z), found ${parts.length}`, {
      parts: parts.length,
    });
  }
  const controlKey = new Uint8Array(32);
  const view = new DataView(controlKey.buffer);
  const names = ['w', 'x', 'y', 'z'];
  parts.forEach((part, i) => {
    if (!COMPONENT.test(part)) {
      throw kdnetError(
        KdnetErrorCode.BadKey,
        `KDNET key component ${i + 1} (${names[i]}) "${part}" must be 1-13 base-36 characters (0-9, a-z)`,
        { component: i + 1, value: part },
      );
    }
    let value = 0n;
    for (const c of part) value = value * 36n + BigInt(Number.parseInt(c, 36));
    if (value > MAX_U64) {
      throw kdnetError(KdnetErrorCode.BadKey, `KDNET key component ${i + 1} (${names[i]}) "${part}" exceeds 64 bits`, {
        component: i + 1,
        value: part,
      });
    }
    view.setBigUint64(i * 8, value, true);
  });
  return { text: parts.join('.'), controlKey, hmacKey: controlKey.map((b) => ~b & 0xff) };
}

/** True when `text` parses as a key; for option validation that wants a boolean. */
export function isKdnetKey(text: string): boolean {
  try {
    parseKdnetKey(text);
    return true;
  } catch {
    return false;
  }
}

/** A fresh random key in the `w.x.y.z` form, each component a full 64-bit value. */
export function randomKdnetKeyText(random: (n: number) => Uint8Array): string {
  const bytes = random(32);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 32);
  return [0, 1, 2, 3].map((i) => view.getBigUint64(i * 8, true).toString(36)).join('.');
}
