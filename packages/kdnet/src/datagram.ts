import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import type { DropReason } from './errors.js';

/** KDNET datagram layout (kd-protocol.md §3). */
export const KDNET_MAGIC = 0x4d444247; // `MDBG`, big-endian
export const KDNET_HEADER_SIZE = 6;
/** The big-endian word `seq << 8 | dir | pad` that opens the plaintext. */
export const KDNET_SEQUENCE_WORD_SIZE = 8;
/** HMAC-SHA256 truncated to 16 bytes; the same bytes are the CBC IV. */
export const KDNET_HMAC_SIZE = 16;
/** Smallest legal datagram: header, one AES block (the sequence word plus padding), HMAC. */
export const KDNET_MIN_DATAGRAM = KDNET_HEADER_SIZE + 16 + KDNET_HMAC_SIZE;
/**
 * Largest datagram accepted: a 4096-byte KD payload (the most any stub sends, kd-protocol.md
 * 1.1) plus its 16-byte header, the sequence word, padding and HMAC, rounded up. Larger ones are
 * refused before any decryption.
 */
export const KDNET_MAX_DATAGRAM = 4224;

export const KdnetChannel = { Data: 0, Control: 1 } as const;
export type KdnetChannel = (typeof KdnetChannel)[keyof typeof KdnetChannel];

/** The `dir` nibble of the sequence word: 0x80 debugger→target, 0x00 target→debugger. */
export const KdnetDirection = { ToTarget: 0x80, ToDebugger: 0x00 } as const;
export type KdnetDirection = (typeof KdnetDirection)[keyof typeof KdnetDirection];

/** The cleartext parts of a datagram. */
export interface KdnetDatagram {
  /** Protocol version byte (0x02, 0x04, 0x05 occur; the host echoes the target's). */
  readonly version: number;
  readonly channel: KdnetChannel;
  /** 56-bit sequence number (safe as a number far beyond any real session). */
  readonly sequence: number;
  readonly direction: KdnetDirection;
  /** The KD part (data channel) or the control body (control channel), padding removed. */
  readonly body: Uint8Array;
}

export type DecodeResult = ({ readonly ok: true } & KdnetDatagram) | { readonly ok: false; readonly reason: DropReason };

const TWO_24 = 0x100_0000;

/** Padding so that the sequence word + body fill whole AES blocks: −(len + 8) mod 16. */
export function paddingFor(bodyLength: number): number {
  return -(bodyLength + KDNET_SEQUENCE_WORD_SIZE) & 0x0f;
}

/** Total datagram size for a body of `bodyLength` bytes. */
export function datagramSize(bodyLength: number): number {
  return KDNET_HEADER_SIZE + KDNET_SEQUENCE_WORD_SIZE + bodyLength + paddingFor(bodyLength) + KDNET_HMAC_SIZE;
}

/**
 * Builds one datagram (kd-protocol.md §3): plaintext = sequence word ++ body ++ zero padding;
 * HMAC-SHA256(hmacKey, header ++ plaintext) truncated to 16 bytes goes last and is also the IV of
 * the AES-256-CBC encryption of the plaintext (no cipher padding: the plaintext is block-aligned).
 */
export function encodeDatagram(datagram: KdnetDatagram, aesKey: Uint8Array, hmacKey: Uint8Array): Uint8Array {
  const pad = paddingFor(datagram.body.length);
  const plainLength = KDNET_SEQUENCE_WORD_SIZE + datagram.body.length + pad;
  const out = new Uint8Array(KDNET_HEADER_SIZE + plainLength + KDNET_HMAC_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, KDNET_MAGIC, false);
  out[4] = datagram.version & 0xff;
  out[5] = datagram.channel;
  // seq << 8 | dir | pad, big-endian: the high 32 bits hold seq >> 24, the low 32 bits the rest.
  view.setUint32(6, Math.floor(datagram.sequence / TWO_24) >>> 0, false);
  view.setUint32(10, (((datagram.sequence % TWO_24) << 8) | datagram.direction | pad) >>> 0, false);
  out.set(datagram.body, KDNET_HEADER_SIZE + KDNET_SEQUENCE_WORD_SIZE);
  const plainEnd = KDNET_HEADER_SIZE + plainLength;
  const mac = createHmac('sha256', hmacKey).update(out.subarray(0, plainEnd)).digest();
  out.set(mac.subarray(0, KDNET_HMAC_SIZE), plainEnd);
  const cipher = createCipheriv('aes-256-cbc', aesKey, mac.subarray(0, KDNET_HMAC_SIZE));
  cipher.setAutoPadding(false);
  const encrypted = cipher.update(out.subarray(KDNET_HEADER_SIZE, plainEnd));
  out.set(encrypted, KDNET_HEADER_SIZE);
  cipher.final();
  return out;
}

/** Cheap checks before any crypto: length, magic, channel. */
export function precheckDatagram(bytes: Uint8Array): { ok: true; channel: KdnetChannel; version: number } | { ok: false; reason: DropReason } {
  if (bytes.length < KDNET_MIN_DATAGRAM || bytes.length > KDNET_MAX_DATAGRAM || (bytes.length - KDNET_HEADER_SIZE - KDNET_HMAC_SIZE) % 16 !== 0) {
    return { ok: false, reason: 'length' };
  }
  if (bytes[0] !== 0x4d || bytes[1] !== 0x44 || bytes[2] !== 0x42 || bytes[3] !== 0x47) return { ok: false, reason: 'magic' };
  const channel = bytes[5];
  if (channel !== KdnetChannel.Data && channel !== KdnetChannel.Control) return { ok: false, reason: 'channel' };
  return { ok: true, channel, version: bytes[4] };
}

/**
 * Authenticates and decrypts one datagram. `aesKeyFor` picks the key for its channel (undefined:
 * no key yet, dropped as `unexpected`). Nothing is returned from a datagram whose HMAC fails: the
 * decrypted bytes are used only to recompute the HMAC.
 */
export function decodeDatagram(bytes: Uint8Array, aesKeyFor: (channel: KdnetChannel) => Uint8Array | undefined, hmacKey: Uint8Array): DecodeResult {
  const pre = precheckDatagram(bytes);
  if (!pre.ok) return pre;
  const aesKey = aesKeyFor(pre.channel);
  if (aesKey === undefined) return { ok: false, reason: 'unexpected' };
  const macAt = bytes.length - KDNET_HMAC_SIZE;
  const iv = bytes.subarray(macAt);
  const decipher = createDecipheriv('aes-256-cbc', aesKey, iv);
  decipher.setAutoPadding(false);
  const plain = new Uint8Array(macAt);
  plain.set(bytes.subarray(0, KDNET_HEADER_SIZE));
  plain.set(decipher.update(bytes.subarray(KDNET_HEADER_SIZE, macAt)), KDNET_HEADER_SIZE);
  decipher.final();
  const mac = createHmac('sha256', hmacKey).update(plain).digest().subarray(0, KDNET_HMAC_SIZE);
  if (!timingSafeEqual(mac, iv)) return { ok: false, reason: 'hmac' };
  const view = new DataView(plain.buffer);
  const high = view.getUint32(6, false);
  const low = view.getUint32(10, false);
  const pad = low & 0x0f;
  const direction = (low & 0xf0) as KdnetDirection;
  const bodyStart = KDNET_HEADER_SIZE + KDNET_SEQUENCE_WORD_SIZE;
  if ((direction !== KdnetDirection.ToTarget && direction !== KdnetDirection.ToDebugger) || bodyStart + pad > macAt) {
    return { ok: false, reason: 'malformed' };
  }
  return {
    ok: true,
    version: pre.version,
    channel: pre.channel,
    sequence: high * TWO_24 + (low >>> 8),
    direction,
    body: plain.subarray(bodyStart, macAt - pad),
  };
}
