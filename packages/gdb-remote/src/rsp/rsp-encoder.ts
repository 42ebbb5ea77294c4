/**
 * The sending half of RSP framing (gdb manual, "Remote Protocol → Overview"): `$body#cs`. Bodies
 * are escaped (`$`, `#`, `}` and `*` become `}` x ^ 0x20) so binary replies (qXfer, `x`) survive; the
 * checksum is over the escaped bytes. Text replies never contain those characters, so escaping is
 * the identity for them. Memory replies run-length encode runs of equal bytes (the hex `m` reply
 * always, the binary `x` reply when the client is gdb); other replies go as they are.
 */

import { kdChecksum } from '@vmkd/kd-protocol';
import { DOLLAR, ESCAPE, HASH, STAR } from './rsp-bytes.js';
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

export interface BinaryPacketOptions {
  /**
   * Run-length encode runs of the bytes memory is padded with (zero pages, 0xff, int3 and nop
   * padding): gdb expands `*` markers in every packet it reads (remote.c, read_frame), before it
   * undoes escapes.
   */
  readonly runLength?: boolean;
}

/** The bytes a frame escapes, each found with its own native search. */
const ESCAPED_BYTES = [DOLLAR, HASH, ESCAPE, STAR];
/** Runs of these, MIN_RUN long or longer, are run-length encoded: what fills memory that holds nothing. */
const RUN_BYTES = [0x00, 0xff, 0xcc, 0x90];
const MIN_RUN = 16;
const RUN_NEEDLES = RUN_BYTES.map((b) => Buffer.alloc(MIN_RUN, b));
/** Where each searched-for thing (escapes, then runs) next occurs; -1 once there is none. */
const nextAt = new Int32Array(ESCAPED_BYTES.length + RUN_BYTES.length);

/**
 * Frames binary data, optionally after a one-byte prefix (gdb's `x` reply starts with `b`), into
 * `into` when it holds binaryPacketCapacity(bytes.length) and a fresh buffer otherwise.
 *
 * No JavaScript loop walks the bytes one by one: each byte to escape, and each run to encode, is
 * found with Buffer#indexOf (memchr and a native substring search), and the stretches between
 * them are copied whole. Memory holds one byte to escape in 64 on average, so a 63 KB `x` reply
 * is about a thousand searches and copies. The checksum is one pass over the frame at the end.
 * (A byte loop took about 10 ns a byte on the virtual kernel's memory: 180 ms of a 16 MiB dump.)
 */
export function encodeBinaryPacket(prefix: number | undefined, bytes: Uint8Array, into?: ArrayBuffer, options: BinaryPacketOptions = {}): Uint8Array {
  const n = bytes.length;
  const capacity = binaryPacketCapacity(n);
  const out = into !== undefined && into.byteLength >= capacity ? new Uint8Array(into, 0, capacity) : new Uint8Array(capacity);
  const source = Buffer.from(bytes.buffer, bytes.byteOffset, n);
  const searched = options.runLength === true ? nextAt.length : ESCAPED_BYTES.length;
  out[0] = DOLLAR;
  let o = 1;
  // The prefix is a letter: it never needs escaping.
  if (prefix !== undefined) out[o++] = prefix;
  const body = o;
  for (let k = 0; k < searched; k++) nextAt[k] = k < ESCAPED_BYTES.length ? source.indexOf(ESCAPED_BYTES[k]) : source.indexOf(RUN_NEEDLES[k - ESCAPED_BYTES.length]);
  /** bytes[from, …) are not written yet. */
  let from = 0;
  for (;;) {
    let k = -1;
    let at = n;
    for (let j = 0; j < searched; j++) {
      const p = nextAt[j];
      if (p >= 0 && p < at) {
        at = p;
        k = j;
      }
    }
    if (k < 0) break;
    o = copy(bytes, from, at, out, o);
    if (k < ESCAPED_BYTES.length) {
      out[o++] = ESCAPE;
      out[o++] = ESCAPED_BYTES[k] ^ 0x20;
      from = at + 1;
      nextAt[k] = source.indexOf(ESCAPED_BYTES[k], from);
    } else {
      // indexOf found where the run starts (from never lies inside one: runs and escapes are
      // different bytes, and a run is taken whole).
      const b = RUN_BYTES[k - ESCAPED_BYTES.length];
      let end = at + MIN_RUN;
      while (end < n && bytes[end] === b) end++;
      out[o++] = b;
      o = writeRepeats(out, o, b, end - at - 1);
      from = end;
      nextAt[k] = source.indexOf(RUN_NEEDLES[k - ESCAPED_BYTES.length], from);
    }
  }
  o = copy(bytes, from, n, out, o);
  // RSP's checksum is the byte sum mod 256: the low byte of KDCOM's (summed a word at a time).
  const sum = ((prefix ?? 0) + kdChecksum(out, body, o)) & 0xff;
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
