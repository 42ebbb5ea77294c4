import { describe, expect, it } from 'vitest';
import { isCanonical, translateVirtual, type ReadPhysicalU64 } from './page-walk.js';

/** Page tables as a map of physical u64s. */
function memory(entries: Record<string, bigint>): ReadPhysicalU64 {
  const m = new Map(Object.entries(entries).map(([k, v]) => [BigInt(k), v]));
  return (pa) => Promise.resolve(m.get(pa) ?? 0n);
}

const idx = (va: bigint, level: number) => (va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn;

describe('host-side x86-64 translation', () => {
  const va = 0xfffff80000123456n;
  const tables = (leaf: Record<string, bigint>) => ({
    [String(0x1000n + idx(va, 4) * 8n)]: 0x2003n,
    [String(0x2000n + idx(va, 3) * 8n)]: 0x3003n,
    ...leaf,
  });

  it('walks 4 levels to a 4 KiB page', async () => {
    const read = memory(tables({ [String(0x3000n + idx(va, 2) * 8n)]: 0x4003n, [String(0x4000n + idx(va, 1) * 8n)]: 0x8000_0000_0abc_d063n }));
    expect(await translateVirtual(va, { cr3: 0x1000n, la57: false }, read)).toEqual({ kind: 'mapped', pa: 0xabcd456n, pageSize: 4096, span: 4096 - 0x456 });
  });

  it('stops at a 2 MiB page (PDE.PS)', async () => {
    const read = memory(tables({ [String(0x3000n + idx(va, 2) * 8n)]: 0x4020_0083n }));
    expect(await translateVirtual(va, { cr3: 0x1000n, la57: false }, read)).toEqual({ kind: 'mapped', pa: 0x40200000n + 0x123456n, pageSize: 2 << 20, span: (2 << 20) - 0x123456 });
  });

  it('stops at a 1 GiB page (PDPTE.PS)', async () => {
    const read = memory({ [String(0x1000n + idx(va, 4) * 8n)]: 0x2003n, [String(0x2000n + idx(va, 3) * 8n)]: 0x4000_0083n });
    const t = await translateVirtual(va, { cr3: 0x1000n, la57: false }, read);
    expect(t).toMatchObject({ kind: 'mapped', pa: 0x40000000n + 0x123456n, pageSize: 1 << 30 });
  });

  it('leaves not-present entries (transition, prototype, page file) to KD', async () => {
    const read = memory(tables({ [String(0x3000n + idx(va, 2) * 8n)]: 0x4003n, [String(0x4000n + idx(va, 1) * 8n)]: 0x0000_0000_1234_5800n }));
    expect(await translateVirtual(va, { cr3: 0x1000n, la57: false }, read)).toEqual({ kind: 'fault', reason: 'not-present', level: 1, entry: 0x0000_0000_1234_5800n });
  });

  it('walks 5 levels under CR4.LA57', async () => {
    const va5 = 0xff00_0000_0000_1000n;
    const read = memory({
      [String(0x1000n + idx(va5, 5) * 8n)]: 0x2003n,
      [String(0x2000n + idx(va5, 4) * 8n)]: 0x3003n,
      [String(0x3000n + idx(va5, 3) * 8n)]: 0x4003n,
      [String(0x4000n + idx(va5, 2) * 8n)]: 0x5003n,
      [String(0x5000n + idx(va5, 1) * 8n)]: 0x9000003n,
    });
    expect(await translateVirtual(va5, { cr3: 0x1000n, la57: true }, read)).toMatchObject({ kind: 'mapped', pa: 0x9000000n });
    expect(await translateVirtual(va5, { cr3: 0x1000n, la57: false }, read)).toMatchObject({ kind: 'fault', reason: 'non-canonical' });
  });

  it('knows canonical addresses', () => {
    expect(isCanonical(0x00007fffffffffffn, false)).toBe(true);
    expect(isCanonical(0x0000800000000000n, false)).toBe(false);
    expect(isCanonical(0xffff800000000000n, false)).toBe(true);
    expect(isCanonical(0x0100000000000000n, true)).toBe(false);
    expect(isCanonical(0x00ffffffffffffffn, true)).toBe(true);
  });
});
