import { describe, expect, it } from 'vitest';
import { fillExpected } from './data-formula.js';
import { PAGE_SIZE, PhysicalMemory } from './physical-memory.js';

const MIB = 1024 * 1024;

describe('PhysicalMemory', () => {
  it('reads formula content without materialising anything', () => {
    const m = new PhysicalMemory(64 * MIB, 16);
    expect(m.read(0x123456, 5000)).toEqual(fillExpected(0x123456n, new Uint8Array(5000)));
    expect(m.materialisedPages).toBe(0);
  });

  it('materialises a page on first write, copy-on-write from the formula', () => {
    const m = new PhysicalMemory(64 * MIB, 16);
    expect(m.write(0x5000 + 10, Uint8Array.of(1, 2, 3))).toBe(3);
    expect(m.materialisedPages).toBe(1);
    const page = m.read(0x5000, PAGE_SIZE);
    const expected = fillExpected(0x5000n, new Uint8Array(PAGE_SIZE));
    expected.set([1, 2, 3], 10);
    expect(page).toEqual(expected);
  });

  it('returns the prefix inside RAM and writes nothing past it', () => {
    const m = new PhysicalMemory(32 * MIB, 16);
    expect(m.read(32 * MIB - 10, 100).length).toBe(10);
    expect(m.read(32 * MIB, 100).length).toBe(0);
    expect(m.write(32 * MIB - 2, new Uint8Array(8))).toBe(2);
  });

  it('stops writing when the page budget is spent', () => {
    const m = new PhysicalMemory(32 * MIB, 2);
    expect(m.write(0, new Uint8Array(3 * PAGE_SIZE).fill(7))).toBe(2 * PAGE_SIZE);
    expect(m.materialisedPages).toBe(2);
    expect(m.read(2 * PAGE_SIZE, 4)).toEqual(fillExpected(2n * BigInt(PAGE_SIZE), new Uint8Array(4)));
  });
});
