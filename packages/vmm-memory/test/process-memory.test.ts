import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProcessMemory, processDirectoryBase } from '../src/index.js';
import { ramDir, simWithFastPath, type SimWithFastPath } from './sim-ram.js';

/**
 * A process's own address space (its DirectoryTableBase from EPROCESS), the way `.process /p`
 * reads it: through the fast path every page-table and data read is served from the source, and
 * the bytes equal what the same reads give through KD alone.
 */
describe('per-process address spaces', () => {
  let dirs: ReturnType<typeof ramDir>[];
  let fast: SimWithFastPath;
  let slow: SimWithFastPath;
  beforeAll(async () => {
    dirs = [ramDir(), ramDir()];
    fast = await simWithFastPath(dirs[0].dir, 64 * 1024 * 1024, { cpus: 2 });
    slow = await simWithFastPath(dirs[1].dir, 64 * 1024 * 1024, { fastPath: false, cpus: 2 });
  });
  afterAll(async () => {
    await fast.close();
    await slow.close();
    for (const d of dirs) d.remove();
  });

  it("reads each process's PEB through its own page tables, the same from the source as through KD", async () => {
    const processes = fast.sim.processes.filter((p) => p.pid !== 4);
    expect(processes.length).toBeGreaterThan(3);
    const imageBases = new Set<bigint>();
    for (const p of processes) {
      expect(await processDirectoryBase(fast.debuggerSession, p.eprocess)).toBe(p.directoryTableBase);
      const viaSource = await openProcessMemory(fast.debuggerSession, p.eprocess);
      const viaKd = await openProcessMemory(slow.debuggerSession, slow.sim.processes.find((q) => q.pid === p.pid)!.eprocess);
      const peb = await viaSource.read(p.peb, 0x20);
      expect(peb.length).toBe(0x20);
      expect(peb).toEqual(await viaKd.read(p.peb, 0x20));
      imageBases.add(new DataView(peb.buffer).getBigUint64(0x10, true));
      // SharedUserData's user view is the kernel's KUSER_SHARED_DATA page; the kernel half is shared.
      const shared = await viaSource.read(0x7ffe0000n, 0x30);
      expect(shared).toEqual((await fast.debuggerSession.readVirtual(fast.sim.layout.kuserSharedData, 0x30)).data);
      expect([...(await viaSource.read(fast.sim.layout.kernBase, 2))]).toEqual([0x4d, 0x5a]);
    }
    // Every process has an image of its own.
    expect(imageBases.size).toBe(processes.length);
    // One process's PEB is not in another's address space, nor in the kernel's (the stopped CPU's CR3).
    const [a, b] = processes;
    expect((await (await openProcessMemory(fast.debuggerSession, b.eprocess)).read(a.peb, 0x20)).length).toBe(0);
    expect((await fast.debuggerSession.readVirtual(a.peb, 0x20)).bytesRead).toBe(0);

    const stats = fast.link.fastPathStats();
    expect(stats.bytesThroughKd).toBe(0);
    expect(stats.readsFromSource).toBeGreaterThan(processes.length * 3);
  });

  it('translates a read naming another CPU through that CPU’s own CR3, from the source', async () => {
    const before = fast.link.fastPathStats();
    const kernBase = fast.sim.layout.kernBase;
    const onCpu1 = await fast.debuggerSession.readVirtual(kernBase, 0x100, { processor: 1 });
    expect(onCpu1.data).toEqual((await slow.debuggerSession.readVirtual(kernBase, 0x100, { processor: 1 })).data);
    const after = fast.link.fastPathStats();
    expect(after.readsFromSource).toBe(before.readsFromSource + 1);
    expect(after.fallbacks).toBe(before.fallbacks);
    expect(after.readsThroughKd).toBe(before.readsThroughKd);
  });
});
