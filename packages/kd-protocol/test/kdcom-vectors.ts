/** Appendix A of the KD spec, verbatim, as bytes. Shared by the vector tests. */

export function hex(text: string): Uint8Array {
  const clean = text.replace(/[^0-9a-fA-F]/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** A 56-byte payload starting with `prefix`, zero after it. */
function payload56(prefix: string): string {
  const p = hex(prefix);
  const out = new Uint8Array(56);
  out.set(p);
  return [...out].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

export const A1 = {
  breakIn: hex('62'),
  reset: hex('69 69 69 69 06 00 00 00 00 00 00 00 00 00 00 00'),
  resetReply: hex('69 69 69 69 06 00 00 00 00 00 00 00 00 00 00 00'),
  ack80800000: hex('69 69 69 69 04 00 00 00 00 00 80 80 00 00 00 00'),
};

export interface FrameVector {
  readonly name: string;
  readonly id: number;
  readonly type: number;
  readonly checksum: number;
  readonly bytes: Uint8Array;
}

export const A2: readonly FrameVector[] = [
  {
    name: 'GetVersion',
    id: 0x80800000,
    type: 2,
    checksum: 0x77,
    bytes: hex(`30 30 30 30 02 00 38 00 00 00 80 80 77 00 00 00
      46 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 aa`),
  },
  {
    name: 'ReadVirtualMemory',
    id: 0x80800001,
    type: 2,
    checksum: 0x36f,
    bytes: hex(`30 30 30 30 02 00 38 00 01 00 80 80 6f 03 00 00
      30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 10 00 00 f8 ff ff 08 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 aa`),
  },
  {
    name: 'WriteBreakPoint',
    id: 0x80800001,
    type: 2,
    checksum: 0x39c,
    bytes: hex(`30 30 30 30 02 00 38 00 01 00 80 80 9c 03 00 00 ${payload56(`34 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      01 00 40 00 00 f8 ff ff`)} aa`),
  },
  {
    name: 'ContinueApi2',
    id: 0x80800000,
    type: 2,
    checksum: 0x6f,
    bytes: hex(`30 30 30 30 02 00 38 00 00 00 80 80 6f 00 00 00 ${payload56(`3c 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      01 00 01 00`)} aa`),
  },
];

/** RestoreBreakPoint: only the payload is given (checksum 0x67). */
export const A2RestoreBreakPointPayload = hex(payload56('35 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00'));

export const A3: readonly FrameVector[] = [
  {
    name: 'GetVersion reply',
    id: 0x80800001,
    type: 2,
    checksum: 0xbdf,
    bytes: hex(`30 30 30 30 02 00 38 00 01 00 80 80 df 0b 00 00
      46 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      0f 00 b1 1d 06 02 07 00 64 86 0c 03 31 00 00 00
      00 00 00 00 00 f8 ff ff 00 00 60 00 00 f8 ff ff
      00 00 10 00 00 f8 ff ff aa`),
  },
  {
    name: 'ReadVirtualMemory reply',
    id: 0x80800000,
    type: 2,
    checksum: 0x68d,
    bytes: hex(`30 30 30 30 02 00 40 00 00 00 80 80 8d 06 00 00
      30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 10 00 00 f8 ff ff 08 00 00 00 08 00 00 00
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00 00 00 20 00 00 f8 ff ff
      aa`),
  },
];

/** A.3 STATE_CHANGE64 exception header (payload not recorded). */
export const A3StateChangeHeader = hex('30 30 30 30 07 00 f0 00 00 00 80 80 e1 14 00 00');

export const A4 = {
  reset: hex('69 69 69 69 06 00 00 00 00 00 00 00 00 00 00 00'),
  loadSymbolsSyncHeader: hex('30 30 30 30 07 00 0f 01 00 08 80 80 44 33 00 00'),
  resetOddId: hex('69 69 69 69 06 00 00 00 63 f8 05 00 00 00 00 00'),
  loadSymbolsResentHeader: hex('30 30 30 30 07 00 0f 01 00 00 80 80 44 33 00 00'),
};

/**
 * A.4 gives only the header and the checksum of the 271-byte LoadSymbols payload (a 240-byte state
 * change, then `\WINDOWS\system32\ntkrnlpa.exe` and a NUL). Build a payload of that shape whose
 * byte sum is 0x3344, so the frames can be compared byte for byte.
 */
export function a4LoadSymbolsPayload(): Uint8Array {
  const p = new Uint8Array(0x10f);
  p[0] = 0x31; // NewState 0x3031 LoadSymbols
  p[1] = 0x30;
  p.set(new TextEncoder().encode('\\WINDOWS\\system32\\ntkrnlpa.exe\0'), 240);
  let need = 0x3344 - p.reduce((s, b) => s + b, 0);
  // Fill bytes 0x80.. of the state change (within the union, unused here) to reach the checksum.
  for (let at = 0x80; need > 0; at++) {
    p[at] = Math.min(255, need);
    need -= p[at];
  }
  return p;
}
