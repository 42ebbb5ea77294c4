/** Below this many bytes the plain loop wins over setting up a word view. */
const WORDWISE_MIN = 64;
/** Words per inner run: 256 × 0xff per 16-bit lane stays below 2^16, so lanes never carry. */
const RUN = 256;

/**
 * The KDCOM checksum (KD spec 1.4): the unsigned 32-bit sum of the payload bytes, modulo 2^32.
 * `start`/`end` select a range so a frame's payload can be checked in place.
 *
 * Long ranges are summed four bytes at a time: each aligned u32 word is split into two pairs of
 * 16-bit lanes (bytes 0+2 and 1+3), which add without carrying into each other for RUN words.
 * Byte order does not matter, since every byte lands in some lane and all lanes are summed.
 */
export function kdChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let total = 0;
  let i = start;
  if (end - start >= WORDWISE_MIN) {
    while (((bytes.byteOffset + i) & 3) !== 0) total += bytes[i++];
    const words = (end - i) >>> 2;
    const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; ) {
      const stop = Math.min(words, w + RUN);
      let even = 0;
      let odd = 0;
      for (; w < stop; w++) {
        const v = u32[w];
        even += v & 0x00ff00ff;
        odd += (v >>> 8) & 0x00ff00ff;
      }
      total += (even & 0xffff) + (even >>> 16) + (odd & 0xffff) + (odd >>> 16);
    }
    i += words * 4;
  }
  for (; i < end; i++) total += bytes[i];
  return total % 0x1_0000_0000;
}
