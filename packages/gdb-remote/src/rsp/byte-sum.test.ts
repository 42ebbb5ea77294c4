import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { byteSum } from './byte-sum.js';

test.prop([fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(7), fc.nat(7)])(
  'equals the byte-by-byte sum mod 256 at any alignment and range',
  (data, shift, cutStart, cutEnd) => {
    const backing = new Uint8Array(data.length + shift);
    backing.set(data, shift);
    const view = backing.subarray(shift);
    const start = Math.min(cutStart, view.length);
    const end = Math.max(start, view.length - cutEnd);
    let expected = 0;
    for (let i = start; i < end; i++) expected += view[i];
    expect(byteSum(view, start, end)).toBe(expected & 0xff);
  },
);

test.prop([fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 70_000 })])('does not overflow on long runs of large bytes', (b, length) => {
  expect(byteSum(new Uint8Array(length).fill(b), 0, length)).toBe((b * length) & 0xff);
});
