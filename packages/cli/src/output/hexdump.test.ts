import { describe, expect, it } from 'vitest';
import { hexdump } from './hexdump.js';

describe('hexdump', () => {
  it('prints db-style rows with a WinDbg address and printable text', () => {
    const bytes = new Uint8Array([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0, 0x4b, 0x44, 0x42, 0x47]);
    expect(hexdump(0xfffff80000000000n, bytes)).toEqual([
      'fffff800`00000000  4d 5a 90 00 03 00 00 00-04 00 00 00 ff ff 00 00  MZ..............',
      'fffff800`00000010  4b 44 42 47                                      KDBG',
    ]);
  });
});
