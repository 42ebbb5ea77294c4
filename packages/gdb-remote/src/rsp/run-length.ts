import { STAR } from './rsp-bytes.js';

/**
 * Run-length encoding of replies (gdb manual, "Overview"): `c*N` stands for c followed by N − 29
 * more copies of it. The count must be printable and must not be `#` or `$`; `}` and `*` are left
 * out as well, so a count never reads as an escape or a second marker. A count of 3 or more is
 * the only kind that saves anything.
 */
const COUNT_OK = Uint8Array.from({ length: 98 }, (_, n) => (n >= 3 && n !== 6 && n !== 7 && n !== 13 && n !== 96 ? 1 : 0));

/** The largest repeat one marker carries (`~` = 126 = 97 + 29). */
const MAX_REPEAT = 97;

/**
 * Writes `repeats` more copies of `c` into `out` at `o`, where the byte just before `o` is already
 * a `c`: markers where they save, `c` itself for a tail under three. Returns the new write offset.
 * At most 2 bytes per marker plus 1 per 97 repeats are written (bounded by `repeats` itself).
 */
export function writeRepeats(out: Uint8Array, o: number, c: number, repeats: number): number {
  let left = repeats;
  while (left > 0) {
    if (left < 3) {
      out[o++] = c;
      left--;
      continue;
    }
    let repeat = Math.min(left, MAX_REPEAT);
    while (COUNT_OK[repeat] === 0) repeat--;
    out[o++] = STAR;
    out[o++] = repeat + 29;
    left -= repeat;
    // The next marker needs a `c` in front of it again.
    if (left > 0) {
      out[o++] = c;
      left--;
    }
  }
  return o;
}
