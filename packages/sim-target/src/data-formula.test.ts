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

  it('matches expectedByteAt across the 2^32-group and 512 GiB wraps, and in buffers at odd offsets', () => {
    const single = (start: bigint, length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => expectedByteAt(start + BigInt(i)));
    // w crosses 2^32 (the formula's high half changes) and 2^36 (the period) inside the word loop.
    for (const start of [(1n << 35n) - 16n, (1n << 39n) - 16n, 0xfffffa8000000000n + (1n << 35n) - 8n]) {
      expect(fillExpected(start, new Uint8Array(64))).toEqual(single(start, 64));
    }
    // A target whose byteOffset is not word-aligned takes the DataView path; same bytes.
    for (const offset of [1, 2, 3, 4, 5]) {
      const backing = new Uint8Array(offset + 300);
      const view = backing.subarray(offset, offset + 290);
      fillExpected(0x7000_0000n, view);
      expect(view).toEqual(single(0x7000_0000n, 290));
      expect(backing.subarray(0, offset).every((b) => b === 0)).toBe(true);
      expect(backing.subarray(offset + 290).every((b) => b === 0)).toBe(true);
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
