import { openSync, writeSync, closeSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGuestReader, openFileSource } from '../src/index.js';
import { ramDir, simWithFastPath, type SimWithFastPath } from './sim-ram.js';

// Each test boots a virtual kernel with its RAM in a file and attaches through the fast path:
// about 5 s idle, 17-20 s seen with both cores busy; the limit leaves room for busier machines.
describe('the virtual kernel with a RAM file behind the fast path', { timeout: 90_000 }, () => {
  let dir: ReturnType<typeof ramDir>;
  let env: SimWithFastPath | undefined;
  beforeEach(() => {
    dir = ramDir();
  });
  afterEach(async () => {
    await env?.close();
    env = undefined;
    dir.remove();
  });

  it('validates at attach and serves every debugger read from the source', async () => {
    env = await simWithFastPath(dir.dir);
    const { sim, debuggerSession: dbg, link } = env;
    // Nothing is checked until the first read of the stop.
    expect(link.fastPathStats().validationsPassed).toBe(0);
    const kernBase = sim.layout.kernBase;
    const header = await dbg.readVirtual(kernBase, 0x1000);
    expect(link.fastPathStats().validationsPassed).toBe(1);
    expect(env.notices.map((n) => n.level)).toEqual(['info']);
    expect(header.bytesRead).toBe(0x1000);
    expect(header.data).toEqual(sim.readVirtual(kernBase, 0x1000, 0));
    expect([...header.data.subarray(0, 2)]).toEqual([0x4d, 0x5a]);

    // A megabyte of formula data through the physmap window, and the same physical range.
    const region = sim.layout.dataRegion;
    const virt = await dbg.readVirtual(region.virtualBase + 0x12345n, 1 << 20);
    expect(virt.data).toEqual(sim.readVirtual(region.virtualBase + 0x12345n, 1 << 20, 0));
    const phys = await dbg.readPhysical(region.physicalBase + 0x12345n, 1 << 16);
    expect(phys.data).toEqual(sim.readPhysical(region.physicalBase + 0x12345n, 1 << 16));

    const stats = link.fastPathStats();
    expect(stats.bytesThroughKd).toBe(0);
    expect(stats.readsThroughKd).toBe(0);
    expect(stats.bytesFromSource).toBe(0x1000 + (1 << 20) + (1 << 16));
  });

  it('sends writes to the guest and reads them back from the source', async () => {
    env = await simWithFastPath(dir.dir);
    const { sim, debuggerSession: dbg, link } = env;
    const address = sim.layout.dataRegion.virtualBase + 0x4000n;
    const data = new TextEncoder().encode('written through KD, read from the RAM file');
    expect((await dbg.writeVirtual(address, data)).bytesWritten).toBe(data.length);
    expect(sim.readVirtual(address, data.length, 0)).toEqual(data);
    expect((await dbg.readVirtual(address, data.length)).data).toEqual(data);
    expect(link.fastPathStats().readsThroughKd).toBe(0);
    expect(link.fastPathStats().invalidations).toBeGreaterThan(1);
  });

  it('validates again after each resume', async () => {
    env = await simWithFastPath(dir.dir);
    const { debuggerSession: dbg, link } = env;
    await dbg.readVirtual(env.sim.layout.kernBase, 16);
    await dbg.continue();
    await dbg.breakIn({ timeoutMs: 20_000 });
    await dbg.readVirtual(env.sim.layout.kernBase, 16);
    expect(link.fastPathStats().validationsPassed).toBe(2);
    expect(link.fastPathState().trusted).toBe(true);
  });

  it('detects a corrupted source, says so, and falls back to KD', async () => {
    env = await simWithFastPath(dir.dir);
    const { sim, debuggerSession: dbg, link } = env;
    // Find where KernBase lives in the file the way the fast path does: a host walk with CR3.
    const special = await dbg.getSpecialRegisters();
    const source = await openFileSource(env.ramPath);
    const walk = await createGuestReader(source).translate(sim.layout.kernBase, { cr3: special.cr3, la57: false });
    await source.close();
    expect(walk.kind).toBe('mapped');
    if (walk.kind !== 'mapped') return;
    const fd = openSync(env.ramPath, 'r+');
    writeSync(fd, Uint8Array.of(0x5a, 0x4d, 0xee), 0, 3, Number(walk.pa));
    closeSync(fd);

    await dbg.continue();
    await dbg.breakIn({ timeoutMs: 20_000 });
    const header = await dbg.readVirtual(sim.layout.kernBase, 0x200);
    expect([...header.data.subarray(0, 2)]).toEqual([0x4d, 0x5a]);
    expect(link.fastPathStats().validationsFailed).toBe(1);
    expect(link.fastPathState().trusted).toBe(false);
    const warning = env.notices.find((n) => n.level === 'warn');
    expect(warning?.text).toMatch(/memory fast path disabled: the kernel PE header at KernBase .* differs between file:.* and KD at \+0x0; reads go through KD/);
    expect(link.fastPathStats().bytesThroughKd).toBe(0x200);
  });
});
