import { describe, expect, it } from 'vitest';
import { linearLayout, locate, normaliseRanges, qemuDefaultLowMemory, splitLayout, GIB } from './physical-layout.js';
import { resolveFileLayout } from './file-source.js';

describe('physical layouts', () => {
  it('maps a q35 3 GiB split: 2 GiB at 0, 1 GiB at 4 GiB', () => {
    const layout = splitLayout(3n * GIB, qemuDefaultLowMemory('q35', 3n * GIB));
    expect(locate(layout, 0x1000n)).toEqual({ offset: 0x1000n, span: 2n * GIB - 0x1000n });
    expect(locate(layout, 2n * GIB)).toBeUndefined();
    expect(locate(layout, 4n * GIB + 5n)).toEqual({ offset: 2n * GIB + 5n, span: GIB - 5n });
    expect(locate(layout, 5n * GIB)).toBeUndefined();
  });

  it("follows QEMU's own low-memory choice per machine", () => {
    expect(qemuDefaultLowMemory('q35', 2n * GIB)).toBe(2n * GIB);
    expect(qemuDefaultLowMemory('q35', 4n * GIB)).toBe(2n * GIB);
    expect(qemuDefaultLowMemory('pc', 3n * GIB)).toBe(3n * GIB);
    expect(qemuDefaultLowMemory('pc', 4n * GIB)).toBe(3n * GIB);
  });

  it('calls a small file linear and refuses to guess for a large one', () => {
    expect(resolveFileLayout(GIB, undefined, 'f').description).toBe('linear');
    expect(() => resolveFileLayout(3n * GIB, undefined, 'file:/x')).toThrow(expect.objectContaining({ code: 'ERR_VMM_LAYOUT_UNKNOWN' }));
    expect(() => resolveFileLayout(3n * GIB, undefined, 'file:/x')).toThrow(/pass \?layout=linear, \?layout=q35 or \?layout=pc/);
    expect(resolveFileLayout(3n * GIB, { kind: 'linear' }, 'f')).toEqual(linearLayout(3n * GIB));
    expect(resolveFileLayout(3n * GIB, { kind: 'split', machine: 'pc', lowMemory: GIB }, 'f').ranges[1]).toEqual({ guestStart: 4n * GIB, length: 2n * GIB, sourceOffset: GIB });
  });

  it('merges adjacent ranges and rejects overlaps', () => {
    expect(normaliseRanges([{ guestStart: 0x1000n, length: 0x1000n, sourceOffset: 0x11000n }, { guestStart: 0n, length: 0x1000n, sourceOffset: 0x10000n }])).toEqual([{ guestStart: 0n, length: 0x2000n, sourceOffset: 0x10000n }]);
    expect(() => normaliseRanges([{ guestStart: 0n, length: 0x2000n, sourceOffset: 0n }, { guestStart: 0x1000n, length: 0x1000n, sourceOffset: 0n }])).toThrow(expect.objectContaining({ code: 'ERR_VMM_LAYOUT_UNKNOWN' }));
  });
});
