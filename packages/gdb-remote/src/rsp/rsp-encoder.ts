/**
 * The sending half of RSP framing (gdb manual, "Remote Protocol → Overview"): `$body#cs`. Bodies
 * are escaped (`$`, `#`, `}` and `*` become `}` x ^ 0x20) so binary replies (qXfer, `x`) survive; the
 * checksum is over the escaped bytes. Text replies never contain those characters, so escaping is
 * the identity for them. Replies are never run-length encoded (a reply may, we need not).
 */

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const HEX = '0123456789abcdef';

function needsEscape(b: number): boolean {
  return b === DOLLAR || b === HASH || b === ESCAPE || b === STAR;
}

/** Frames one packet. */
export function encodeRspPacket(body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return encodeBinaryPacket(undefined, bytes);
}

/**
 * Frames binary data, optionally after a one-byte prefix (gdb's `x` reply starts with `b`), without
 * first copying the two into one buffer: the `x` reply path frames up to a packet's worth of
 * memory per request.
 */
export function encodeBinaryPacket(prefix: number | undefined, bytes: Uint8Array, into?: ArrayBuffer): Uint8Array {
  const head = prefix === undefined ? 0 : 1;
  // The prefix is a letter: it never needs escaping.
  const first = prefix ?? 0;
  // Fast path for text replies (nothing to escape): the frame is the body copied once (native)
  // and the checksum is one tight loop.
  if (bytes.indexOf(DOLLAR) < 0 && bytes.indexOf(HASH) < 0 && bytes.indexOf(ESCAPE) < 0 && bytes.indexOf(STAR) < 0) {
    const size = head + bytes.length + 4;
    const out = into !== undefined && into.byteLength >= size ? new Uint8Array(into, 0, size) : Buffer.allocUnsafe(size);
    out[0] = DOLLAR;
    if (head === 1) out[1] = first;
    out.set(bytes, 1 + head);
    let sum = first;
    for (let i = 0; i < bytes.length; i++) sum += bytes[i];
    const o = 1 + head + bytes.length;
    out[o] = HASH;
    out[o + 1] = HEX.charCodeAt((sum >> 4) & 0xf);
    out[o + 2] = HEX.charCodeAt(sum & 0xf);
    return out;
  }
  let escapes = 0;
  for (let i = 0; i < bytes.length; i++) if (needsEscape(bytes[i])) escapes++;
  const size = head + bytes.length + escapes + 4;
  const out = into !== undefined && into.byteLength >= size ? new Uint8Array(into, 0, size) : Buffer.allocUnsafe(size);
  out[0] = DOLLAR;
  let o = 1;
  let sum = first;
  if (head === 1) out[o++] = first;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (needsEscape(b)) {
      out[o++] = ESCAPE;
      out[o++] = b ^ 0x20;
      sum += ESCAPE + (b ^ 0x20);
    } else {
      out[o++] = b;
      sum += b;
    }
  }
  out[o] = HASH;
  out[o + 1] = HEX.charCodeAt((sum >> 4) & 0xf);
  out[o + 2] = HEX.charCodeAt(sum & 0xf);
  return out;
}

const HEX_CODES = Uint8Array.from(Buffer.from(HEX, 'latin1'));
/** Sum of the two hex digits of each byte value: the checksum contribution of one byte in hex. */
const HEX_SUM = Uint16Array.from({ length: 256 }, (_, b) => HEX_CODES[b >> 4] + HEX_CODES[b & 15]);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** The two hex digits of each byte value as one 16-bit store (high digit first in memory). */
const HEX_PAIR = Uint16Array.from({ length: 256 }, (_, b) =>
  LITTLE_ENDIAN ? HEX_CODES[b >> 4] | (HEX_CODES[b & 15] << 8) : (HEX_CODES[b >> 4] << 8) | HEX_CODES[b & 15],
);

/** Bytes a buffer needs to hold the `m` reply frame for `length` bytes of memory. */
export function hexPacketCapacity(length: number): number {
  return 2 * length + 5;
}

/** Bytes whose two hex digits are the same character (00, 11, … ff): the only ones that make runs. */
const SAME_DIGITS = Uint8Array.from({ length: 256 }, (_, b) => ((b >> 4) === (b & 15) ? 1 : 0));
/** Repeat counts a run-length marker may carry: `n + 29` printable, not `#`/`$` (gdb manual, "Overview"), nor `}`/`*`. */
const COUNT_OK = Uint8Array.from({ length: 98 }, (_, n) => (n >= 3 && n !== 6 && n !== 7 && n !== 13 && n !== 96 ? 1 : 0));
/** A run of at least this many identical bytes (2× as many hex digits) is run-length encoded. */
const MIN_RUN_BYTES = 3;

/**
 * A framed `m` reply straight from the bytes read, written into `into` when it is large enough
 * (hexPacketCapacity) and a fresh buffer otherwise: one pass over the bytes stores both hex digits
 * of each at once and adds their checksum contribution from a table. No hex string is made (a
 * 126 KB string per reply was most of the garbage a bulk read left behind). The frame starts at
 * byte 1 of the buffer, so the digits start on an even offset.
 *
 * Runs of a byte whose digits are equal (zero pages, 0xcc padding, 0xff) are run-length encoded
 * (gdb manual, "Overview": `c*N` repeats c N − 29 more times): the client then has far fewer
 * characters to read, and reading characters is what gdb spends its time on. Random data rarely
 * has such runs of three bytes, so it stays on the two-digits-per-store path.
 */
export function encodeHexPacket(data: Uint8Array, into?: ArrayBuffer): Uint8Array {
  const n = data.length;
  const buffer = into !== undefined && into.byteLength >= hexPacketCapacity(n) ? into : new ArrayBuffer(hexPacketCapacity(n));
  const bytes = new Uint8Array(buffer);
  const digits = new Uint16Array(buffer, 2, n);
  bytes[1] = DOLLAR;
  let sum = 0;
  let i = 0;
  for (; i < n; i++) {
    const b = data[i];
    if (SAME_DIGITS[b] === 1 && i + MIN_RUN_BYTES <= n && data[i + 1] === b && data[i + 2] === b) break;
    digits[i] = HEX_PAIR[b];
    sum += HEX_SUM[b];
  }
  // From the first run on, characters go one at a time.
  let o = 2 + 2 * i;
  while (i < n) {
    const b = data[i];
    let j = i + 1;
    if (SAME_DIGITS[b] === 1) while (j < n && data[j] === b) j++;
    if (j - i >= MIN_RUN_BYTES) {
      const c = HEX_CODES[b & 15];
      let left = 2 * (j - i);
      while (left > 0) {
        bytes[o++] = c;
        sum += c;
        left--;
        if (left < 3) continue;
        let repeat = Math.min(left, 97);
        while (COUNT_OK[repeat] === 0) repeat--;
        bytes[o++] = STAR;
        bytes[o++] = repeat + 29;
        sum += STAR + repeat + 29;
        left -= repeat;
      }
      i = j;
    } else {
      bytes[o++] = HEX_CODES[b >> 4];
      bytes[o++] = HEX_CODES[b & 15];
      sum += HEX_SUM[b];
      i++;
    }
  }
  bytes[o] = HASH;
  bytes[o + 1] = HEX_CODES[(sum >> 4) & 0xf];
  bytes[o + 2] = HEX_CODES[sum & 0xf];
  return new Uint8Array(buffer, 1, o + 2);
}
