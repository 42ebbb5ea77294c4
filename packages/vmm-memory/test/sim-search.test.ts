import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillExpected } from '@vmkd/sim-target';
import { ramDir, simWithFastPath, type SimWithFastPath } from './sim-ram.js';

/**
 * SearchMemory answered by the fast path against the same request answered by the target through
 * KD: two identical virtual kernels, one behind the fast path, one not, the same requests to both.
 */
describe('SearchMemory from the memory source', () => {
  let dirs: ReturnType<typeof ramDir>[];
  let fast: SimWithFastPath;
  let slow: SimWithFastPath;
  beforeAll(async () => {
    dirs = [ramDir(), ramDir()];
    fast = await simWithFastPath(dirs[0].dir);
    slow = await simWithFastPath(dirs[1].dir, undefined, { fastPath: false });
  });
  afterAll(async () => {
    await fast.close();
    await slow.close();
    for (const d of dirs) d.remove();
  });

  const both = async (address: bigint, length: bigint, pattern: Uint8Array): Promise<bigint | undefined> => {
    const viaSource = await fast.debuggerSession.searchMemory(address, length, pattern);
    const viaKd = await slow.debuggerSession.searchMemory(address, length, pattern);
    expect(viaSource).toBe(viaKd);
    return viaSource;
  };

  it('finds what the target finds: across page boundaries, at the end of the range, and nothing', async () => {
    const base = fast.sim.layout.dataRegion.virtualBase;
    // Formula data straddling a page boundary, searched from well before it.
    const at = base + 0x7ffdn;
    const pattern = fillExpected(at, new Uint8Array(9));
    expect(await both(base, 0x10000n, pattern)).toBe(at);
    // The same match when the range ends exactly at its last byte; none when one byte short.
    expect(await both(at - 0x3000n, 0x3000n + 9n, pattern)).toBe(at);
    expect(await both(at - 0x3000n, 0x3000n + 8n, pattern)).toBeUndefined();
    // A pattern written into both kernels across a boundary of the 1 MiB chunks the source reads in.
    const marker = new TextEncoder().encode('vmkd search marker across a chunk boundary');
    const written = base + 0x200000n - 7n;
    for (const env of [fast, slow]) expect((await env.debuggerSession.writeVirtual(written, marker)).bytesWritten).toBe(marker.length);
    expect(await both(base + 0x1000n, 0x400000n, marker)).toBe(written);
    expect(await both(base, 0x100000n, marker)).toBeUndefined();
    // A one-byte pattern at the very start.
    expect(await both(base, 16n, fillExpected(base, new Uint8Array(1)))).toBe(base);
  });

  it('skips unmapped memory as the target does: a match after a hole is found, none spans one', async () => {
    const kernBase = fast.sim.layout.kernBase;
    // 16 MiB below KernBase is not mapped; the image's 'MZ' header is the first match after it.
    const header = (await fast.debuggerSession.readVirtual(kernBase, 64)).data;
    expect(await both(kernBase - 0x1000000n, 0x1000000n + 0x1000n, header)).toBe(kernBase);
    // Nothing but a hole.
    expect(await both(0x10000n, 0x100000n, header)).toBeUndefined();
    // The last user page and the first non-canonical one.
    expect(await both(0x0000_7fff_ffff_f000n, 0x2000n, Uint8Array.of(0))).toBeUndefined();
  });

  it('answers every search from the source after validation, none through KD', () => {
    const stats = fast.link.fastPathStats();
    expect(stats.searchesFromSource).toBeGreaterThanOrEqual(9);
    expect(stats.searchesThroughKd).toBe(0);
    expect(stats.fallbacks).toBe(0);
    expect(stats.bytesSearched).toBeGreaterThan(0x200000);
  });
});
