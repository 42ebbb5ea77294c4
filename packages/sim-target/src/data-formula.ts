/**
 * The deterministic content of every physical page nobody has written: a function of the address,
 * so tests and benchmarks can verify gigabytes of reads without storing anything.
 *
 * Only the low 39 bits of the address count (a 512 GiB period). The simulator maps all of physical
 * memory linearly at a 512 GiB-aligned virtual base (`SimLayout.physmapBase`), so the byte at a
 * physical address and the byte at its physmap virtual address are the same formula value: pass
 * either address.
 *
 * Definition: the 8-byte group at `a & ~7` is two 32-bit little-endian words `h0, h1`, where
 * `w = (a mod 2^39) >> 3`, `x = (w mod 2^32) XOR imul(floor(w / 2^32) + 1, 0x9E3779B1)`,
 * `h0 = fmix32(x)`, `h1 = fmix32(x XOR 0x85EBCA6B)` and fmix32 is MurmurHash3's 32-bit finaliser.
 */

const PERIOD_MASK = (1n << 39n) - 1n;
/** Word stores are only the formula's little-endian layout on a little-endian host. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The expected byte at a physical address, or at its physmap virtual address. */
export function expectedByteAt(address: bigint): number {
  const a = Number(address & PERIOD_MASK);
  const w = Math.floor(a / 8);
  const x = ((w >>> 0) ^ Math.imul(Math.floor(w / 0x1_0000_0000) + 1, 0x9e3779b1)) >>> 0;
  const k = a % 8;
  const h = k < 4 ? fmix32(x) : fmix32((x ^ 0x85ebca6b) >>> 0);
  return (h >>> ((k & 3) * 8)) & 0xff;
}

/**
 * Fills `target` with the expected bytes starting at `address` (physical or physmap virtual).
 * Bulk: two hashes per 8 bytes, written as 32-bit words.
 */
export function fillExpected(address: bigint, target: Uint8Array): Uint8Array {
  const length = target.length;
  if (length === 0) return target;
  const start = Number(address & PERIOD_MASK);
  let i = 0;
  // Unaligned head, byte by byte.
  while (i < length && (start + i) % 8 !== 0) {
    target[i] = expectedByteAt(BigInt(start + i));
    i++;
  }
  // start + i < 2^39 + length stays exact in a double; words wrap with the 512 GiB period.
  let w = Math.floor((start + i) / 8) % 2 ** 36;
  const groups = Math.floor((length - i) / 8);
  if (LITTLE_ENDIAN && (target.byteOffset + i) % 4 === 0) {
    // The common case (a page, a read buffer): store whole words, no per-word DataView call.
    const words = new Uint32Array(target.buffer, target.byteOffset + i, groups * 2);
    // The high part of w changes only every 2^32 groups: hoist its multiply out of the loop.
    let high = Math.imul(Math.floor(w / 0x1_0000_0000) + 1, 0x9e3779b1);
    let low = w >>> 0;
    for (let g = 0; g < groups * 2; g += 2) {
      const x = (low ^ high) >>> 0;
      words[g] = fmix32(x);
      words[g + 1] = fmix32((x ^ 0x85ebca6b) >>> 0);
      w = w + 1 === 2 ** 36 ? 0 : w + 1;
      low = (low + 1) >>> 0;
      if (low === 0) high = Math.imul(Math.floor(w / 0x1_0000_0000) + 1, 0x9e3779b1);
    }
    i += groups * 8;
  } else {
    const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
    while (i + 8 <= length) {
      const x = ((w >>> 0) ^ Math.imul(Math.floor(w / 0x1_0000_0000) + 1, 0x9e3779b1)) >>> 0;
      view.setUint32(i, fmix32(x), true);
      view.setUint32(i + 4, fmix32((x ^ 0x85ebca6b) >>> 0), true);
      i += 8;
      w = w + 1 === 2 ** 36 ? 0 : w + 1;
    }
  }
  while (i < length) {
    target[i] = expectedByteAt(BigInt(start + i));
    i++;
  }
  return target;
}
