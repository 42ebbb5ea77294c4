import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { kdChecksum } from './checksum.js';

const reference = (b: Uint8Array, start = 0, end = b.length) => {
  let s = 0;
  for (let i = start; i < end; i++) s += b[i];
  return s % 2 ** 32;
};

describe('kdChecksum', () => {
  test.prop([fc.uint8Array({ maxLength: 5000 }), fc.nat(), fc.nat()])('equals the plain byte sum for any range and alignment', (bytes, a, b) => {
    const start = bytes.length === 0 ? 0 : a % bytes.length;
    const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
    expect(kdChecksum(bytes, start, end)).toBe(reference(bytes, start, end));
    expect(kdChecksum(bytes.subarray(start, end))).toBe(reference(bytes, start, end));
  });

  test.prop([fc.integer({ min: 0, max: 300_000 })], { numRuns: 5 })('all-0xff buffers (lane overflow edge) sum exactly', (n) => {
    expect(kdChecksum(new Uint8Array(n).fill(0xff))).toBe((n * 255) % 2 ** 32);
  });
});
