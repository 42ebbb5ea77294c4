import { describe, expect, it } from 'vitest';
import { expectedByteAt, fillExpected } from './data-formula.js';

describe('data formula', () => {
  it('fills in bulk exactly what expectedByteAt gives, for unaligned starts and lengths', () => {
    for (const [start, length] of [
      [0n, 64],
      [3n, 29],
      [0x1000_0005n, 4099],
      [0xfffffa8000123457n, 100],
      [(1n << 39n) - 5n, 20],
    ] as const) {
      const bulk = fillExpected(start, new Uint8Array(length));
      const single = Uint8Array.from({ length }, (_, i) => expectedByteAt(start + BigInt(i)));
      expect(bulk).toEqual(single);
    }
  });

  it('gives a physical address and its physmap alias (any 512 GiB-aligned base) the same bytes', () => {
    const pa = 0x2345_6789n;
    for (const base of [0xfffffa8000000000n, 0xffffa00000000000n]) {
      expect(fillExpected(base + pa, new Uint8Array(256))).toEqual(fillExpected(pa, new Uint8Array(256)));
    }
  });

  it('differs from one 8-byte group to the next and from page to page', () => {
    const page = fillExpected(0x100000n, new Uint8Array(4096));
    const groups = new Set<string>();
    for (let i = 0; i < 4096; i += 8) groups.add(Buffer.from(page.subarray(i, i + 8)).toString('hex'));
    expect(groups.size).toBe(512);
    expect(fillExpected(0x101000n, new Uint8Array(4096))).not.toEqual(page);
  });

  it('writes nothing for an empty buffer', () => {
    expect(fillExpected(7n, new Uint8Array(0)).length).toBe(0);
  });
});
