/**
 * The KDCOM checksum (KD spec 1.4): the unsigned 32-bit sum of the payload bytes, modulo 2^32.
 * `start`/`end` select a range so a frame's payload can be checked in place.
 */
export function kdChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  // Four independent accumulators let the JIT overlap the adds; doubles stay exact far beyond any
  // packet, so the modulo is taken once at the end.
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = start;
  for (const stop = end - 3; i < stop; i += 4) {
    a += bytes[i];
    b += bytes[i + 1];
    c += bytes[i + 2];
    d += bytes[i + 3];
  }
  for (; i < end; i++) a += bytes[i];
  return (a + b + c + d) % 0x1_0000_0000;
}
