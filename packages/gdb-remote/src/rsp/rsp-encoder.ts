/**
 * The sending half of RSP framing (gdb manual, "Remote Protocol → Overview"): `$body#cs`. Bodies
 * are escaped (`$`, `#`, `}` and `*` become `}` x ^ 0x20) so binary replies (qXfer, `x`) survive; the
 * checksum is over the escaped bytes. Text replies never contain those characters, so escaping is
 * the identity for them. Memory replies run-length encode runs of equal bytes (the hex `m` reply
 * always, the binary `x` reply when the client is gdb); other replies go as they are.
 */

import { DOLLAR, ESCAPE, HASH, MUST_ESCAPE } from './rsp-bytes.js';
import { writeRepeats } from './run-length.js';

const HEX = '0123456789abcdef';

/** Frames one packet. */
export function encodeRspPacket(body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  return encodeBinaryPacket(undefined, bytes);
}

/** Bytes a buffer needs to hold any binary frame of `length` bytes (every byte escaped, a prefix). */
export function binaryPacketCapacity(length: number): number {
  return 2 * length + 5;
}

/** Below this many bytes a loop copies faster than a subarray view handed to the native copy. */
const NATIVE_COPY_FROM = 64;

/** Copies source[from, to) to out at o; returns the new write offset. */
function copy(source: Uint8Array, from: number, to: number, out: Uint8Array, o: number): number {
  if (to - from < NATIVE_COPY_FROM) {
    for (let i = from; i < to; i++) out[o++] = source[i];
    return o;
  }
  out.set(source.subarray(from, to), o);
  return o + (to - from);
}

/** A run of at least this many equal bytes is sent as byte + marker (3 bytes for 4 or more). */
const MIN_BINARY_RUN = 4;

export interface BinaryPacketOptions {
  /**
   * Run-length encode runs of equal bytes (zero pages, 0xcc padding): gdb expands `*` markers in
   * every packet it reads (remote.c, read_frame), before it undoes escapes.
   */
  readonly runLength?: boolean;
}

/**
 * Frames binary data, optionally after a one-byte prefix (gdb's `x` reply starts with `b`), into
 * `into` when it holds binaryPacketCapacity(bytes.length) and a fresh buffer otherwise. The bytes
 * between escapes (and runs) are copied natively a stretch at a time; the per-byte loop only looks
 * for the next byte to treat. On 16 MiB of random memory that took the `x` path from about 15 ns
 * a byte (a store per byte) to a few. The checksum is one tight pass over the frame at the end.
 */
export function encodeBinaryPacket(prefix: number | undefined, bytes: Uint8Array, into?: ArrayBuffer, options: BinaryPacketOptions = {}): Uint8Array {
  const n = bytes.length;
  const capacity = binaryPacketCapacity(n);
  const out = into !== undefined && into.byteLength >= capacity ? new Uint8Array(into, 0, capacity) : new Uint8Array(capacity);
  const runLength = options.runLength === true;
  out[0] = DOLLAR;
  let o = 1;
  // The prefix is a letter: it never needs escaping.
  if (prefix !== undefined) out[o++] = prefix;
  const body = o;
  /** bytes[from, …) are not written yet. */
  let from = 0;
  let previous = -1;
  let runStart = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === previous) continue;
    if (runLength && i - runStart >= MIN_BINARY_RUN) {
      o = copy(bytes, from, runStart + 1, out, o);
      o = writeRepeats(out, o, previous, i - runStart - 1);
      from = i;
    }
    if (MUST_ESCAPE[b] === 1) {
      o = copy(bytes, from, i, out, o);
      out[o++] = ESCAPE;
      out[o++] = b ^ 0x20;
      from = i + 1;
      // An escaped byte never starts a run: the marker would repeat only its second half.
      previous = -1;
      runStart = i + 1;
      continue;
    }
    previous = b;
    runStart = i;
  }
  if (runLength && n - runStart >= MIN_BINARY_RUN && previous !== -1) {
    o = copy(bytes, from, runStart + 1, out, o);
    o = writeRepeats(out, o, previous, n - runStart - 1);
  } else {
    o = copy(bytes, from, n, out, o);
  }
  let sum = prefix ?? 0;
  for (let i = body; i < o; i++) sum += out[i];
  out[o] = HASH;
  out[o + 1] = HEX.charCodeAt((sum >> 4) & 0xf);
  out[o + 2] = HEX.charCodeAt(sum & 0xf);
  return out.subarray(0, o + 3);
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
      const at = o;
      bytes[o++] = c;
      o = writeRepeats(bytes, o, c, 2 * (j - i) - 1);
      for (let k = at; k < o; k++) sum += bytes[k];
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
