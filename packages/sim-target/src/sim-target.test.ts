import type { StopReason, TargetEvent } from '@vmkd/kd-protocol';
import { describe, expect, it } from 'vitest';
import { Amd64ContextOffset } from '@vmkd/kd-protocol/kernel';
import { createManualClock } from './clock.js';
import { GlobalOffset } from './layout.js';
import { createSimTarget, type SimTargetOptions } from './sim-target.js';

function setup(options: SimTargetOptions = {}) {
  const clock = createManualClock();
  const sim = createSimTarget({ clock, printIntervalMs: 0, ...options });
  const events: TargetEvent[] = [];
  sim.events$.subscribe((e) => events.push(e));
  const stops = (): StopReason[] => events.flatMap((e) => (e.kind === 'stop' ? [e.reason] : []));
  const go = (singleStep = false, cpu = 0) => sim.resume({ singleStep, cpu, continueStatus: 0x10002 });
  return { clock, sim, events, stops, go };
}

describe('execution model', () => {
  it('continues from the initial break-in into the idle loop and runs until break-in', () => {
    const { sim, clock, stops, go } = setup();
    go();
    expect(sim.running).toBe(true);
    clock.advance(100);
    expect(stops()).toEqual([]);
    const rip = sim.rip(0);
    expect(rip >= sim.layout.idleLoopStart && rip <= sim.layout.idleLoopJump).toBe(true);
    sim.breakIn();
    clock.advance(0);
    expect(sim.running).toBe(false);
    expect(stops()).toEqual([{ kind: 'exception', cpu: 0, code: 0x80000003, address: sim.layout.breakpointWithStatus, firstChance: true, parameters: [0n] }]);
    // DbgBreakPointWithStatus was "called": the interrupted RIP is the return address on the stack.
    const rsp = new DataView(sim.getContext(0).buffer).getBigUint64(Amd64ContextOffset.Rsp, true);
    const ret = new DataView(sim.readVirtual(rsp, 8, 0).buffer).getBigUint64(0, true);
    expect(ret >= sim.layout.idleLoopStart && ret <= sim.layout.idleLoopJump).toBe(true);
    expect(sim.stats()).toMatchObject({ ticks: 10, instructions: 10 * 10_000 }); // 100 ms at 100 ticks/s
  });

  it('patches memory with int3, stops at it, restores the byte and single-steps', () => {
    const { sim, clock, stops, go } = setup();
    const at = sim.layout.idleLoopStart + 0x300n;
    const handle = sim.writeBreakpoint(at);
    expect(handle).toBe(1);
    expect(sim.readVirtual(at, 1, 0)).toEqual(Uint8Array.of(0xcc));
    expect(sim.writeBreakpoint(at)).toBe(1); // same address, same handle
    go();
    clock.advance(10);
    expect(stops().at(-1)).toMatchObject({ code: 0x80000003, address: at, cpu: 0 });
    expect(sim.rip(0)).toBe(at);
    // Continuing with our int3 still planted traps again at once, as on hardware.
    go();
    clock.advance(10);
    expect(stops().at(-1)).toMatchObject({ code: 0x80000003, address: at });
    expect(sim.restoreBreakpoint(handle!)).toBe(true);
    expect(sim.restoreBreakpoint(handle!)).toBe(false);
    expect(sim.readVirtual(at, 1, 0)).toEqual(Uint8Array.of(0x90));
    go(true);
    clock.advance(0);
    expect(stops().at(-1)).toEqual({ kind: 'exception', cpu: 0, code: 0x80000004, address: at + 1n, firstChance: true, parameters: [] });
  });

  it('single-steps through the jmp that closes the idle loop', () => {
    const { sim, clock, stops, go } = setup();
    const ctx = sim.getContext(0);
    new DataView(ctx.buffer).setBigUint64(Amd64ContextOffset.Rip, sim.layout.idleLoopJump, true);
    sim.setContext(0, ctx);
    go(true);
    clock.advance(0);
    expect(stops().at(-1)).toMatchObject({ code: 0x80000004, address: sim.layout.idleLoopStart });
  });

  it('reports an access violation when RIP leaves mapped memory', () => {
    const { sim, clock, stops, go } = setup();
    const ctx = sim.getContext(0);
    new DataView(ctx.buffer).setBigUint64(Amd64ContextOffset.Rip, 0xfffff80000850000n, true);
    sim.setContext(0, ctx);
    go();
    clock.advance(10);
    expect(stops().at(-1)).toMatchObject({ code: 0xc0000005, address: 0xfffff80000850000n });
  });

  it('reports the CPU that reaches a breakpoint first', () => {
    const { sim, clock, stops, go } = setup({ cpus: 4 });
    const loop = sim.layout.idleLoopJump - sim.layout.idleLoopStart;
    // Just ahead of CPU 2's starting point: nobody else gets there sooner.
    const at = sim.layout.idleLoopStart + (loop * 2n) / 4n + 10n;
    sim.writeBreakpoint(at);
    go();
    clock.advance(10);
    expect(stops().at(-1)).toMatchObject({ cpu: 2, address: at });
    expect(sim.rip(2)).toBe(at);
    expect(sim.currentThread(2)).not.toBe(sim.currentThread(0));
    expect(sim.getContext(1)).not.toEqual(sim.getContext(2));
  });

  it('prints periodically while running and logs to KdPrintCircularBuffer', () => {
    const { sim, clock, events, go } = setup({ printIntervalMs: 200 });
    go();
    clock.advance(1000);
    const prints = events.flatMap((e) => (e.kind === 'print' ? [e.text] : []));
    expect(prints.length).toBe(5);
    expect(prints[0]).toMatch(/^vmkd-sim: Windows 7 SP1 x64 build 7601 alive/);
    const pointerVar = sim.layout.globals + BigInt(GlobalOffset.KdPrintWritePointer);
    const pointer = new DataView(sim.readVirtual(pointerVar, 8, 0).buffer).getBigUint64(0, true);
    const logged = Buffer.from(sim.readVirtual(sim.layout.printBuffer, Number(pointer - sim.layout.printBuffer), 0)).toString('latin1');
    expect(logged).toBe(prints.join(''));
  });

  it('keeps at most 32 breakpoints and refuses unmapped addresses', () => {
    const { sim } = setup();
    expect(sim.writeBreakpoint(0xfffff80000850000n)).toBeUndefined();
    const handles = Array.from({ length: 32 }, (_, i) => sim.writeBreakpoint(sim.layout.idleLoopStart + BigInt(i)));
    expect(handles).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    expect(sim.writeBreakpoint(sim.layout.idleLoopStart + 40n)).toBeUndefined();
    expect(sim.breakpoints()).toHaveLength(32);
  });

  it('serves control space, MSRs and rejects bad input with stable codes', () => {
    const { sim } = setup({ cpus: 2 });
    expect(sim.readControlSpace(0, 2n, 0x1000).length).toBe(0xe0);
    expect(sim.readControlSpace(0, 7n, 8).length).toBe(0);
    expect(sim.readControlSpace(5, 0n, 8).length).toBe(0);
    const special = sim.readControlSpace(1, 2n, 0xe0);
    special[0xa0] = 0x0f; // Cr8
    expect(sim.writeControlSpace(1, 2n, special)).toBe(0xe0);
    expect(sim.readControlSpace(1, 2n, 0xe0)[0xa0]).toBe(0x0f);
    expect(sim.readMsr!(1, 0xc0000101)).toBe(new DataView(sim.readControlSpace(1, 0n, 8).buffer).getBigUint64(0, true));
    expect(sim.readMsr!(0, 0x1234)).toBeUndefined();
    expect(() => sim.getContext(2)).toThrow(expect.objectContaining({ code: 'ERR_SIM_BAD_CPU' }));
    expect(() => sim.setContext(0, new Uint8Array(10))).toThrow(expect.objectContaining({ code: 'ERR_SIM_BAD_CONTEXT' }));
    expect(() => sim.readVirtual(0n, 128 * 1024 * 1024, 0)).toThrow(expect.objectContaining({ code: 'ERR_SIM_LENGTH_TOO_LARGE' }));
  });

  it('validates options', () => {
    for (const bad of [{ cpus: 0 }, { cpus: 65 }, { memorySize: 1000 }, { build: 'win95' }, { transportModule: '../x' }, { kernBase: 0x1000n }]) {
      expect(() => createSimTarget(bad as SimTargetOptions)).toThrow(expect.objectContaining({ code: 'ERR_SIM_BAD_OPTION' }));
    }
  });

  it('names the transport module and completes events on close', () => {
    const { sim, go } = setup({ transportModule: 'kdvm.dll' });
    expect(sim.modules[2]?.baseName).toBe('kdvm.dll');
    let completed = false;
    sim.events$.subscribe({ complete: () => (completed = true) });
    sim.close();
    expect(completed).toBe(true);
    expect(() => go()).toThrow(expect.objectContaining({ code: 'ERR_SIM_CLOSED' }));
  });

  it('sizes memory to several GiB without storing it', () => {
    const sim = createSimTarget({ memorySize: 4 * 1024 * 1024 * 1024, printIntervalMs: 0 });
    const end = sim.layout.dataRegion.virtualBase + sim.layout.dataRegion.size;
    expect(sim.readVirtual(end - 4096n, 8192, 0).length).toBe(4096);
    // Only the kernel's own pages (page tables, pool, the module images: about 16 MiB) are stored.
    expect(sim.stats().materialisedPages).toBeLessThan(4500);
  });
});

describe('KUSER_SHARED_DATA', () => {
  const at = 0xfffff78000000000n;
  it.each([
    ['win10-2004-x64', 19041, 10, 0],
    ['win7-sp1-x64', 7601, 6, 1],
  ] as const)('%s: version fields at the fixed address, and a clock that ticks only while running', (build, number, major, minor) => {
    const bootTime = new Date(Date.UTC(2024, 0, 1));
    const { sim, clock, go } = setup({ build, bootTime, ticksPerSecond: 64 });
    const u32 = (offset: number) => new DataView(sim.readVirtual(at + BigInt(offset), 4, 0).buffer).getUint32(0, true);
    const u64 = (offset: number) => new DataView(sim.readVirtual(at + BigInt(offset), 8, 0).buffer).getBigUint64(0, true);
    expect([u32(0x26c), u32(0x270)]).toEqual([major, minor]);
    if (major >= 10) expect(u32(0x260)).toBe(number);
    expect(new DataView(sim.readVirtual(sim.layout.globals + BigInt(GlobalOffset.NtBuildNumber), 4, 0).buffer).getUint32(0, true)).toBe((0xf0000000 | number) >>> 0);
    // SystemTime at boot: 2024-01-01 as a FILETIME (100 ns since 1601).
    expect(u64(0x14)).toBe(133485408000000000n);
    expect(u64(0x320)).toBe(0n);
    go();
    clock.advance(1000);
    expect(u64(0x320)).toBe(64n); // TickCount: 64 clock ticks a second
    expect(u64(0x08)).toBe(10_000_000n); // InterruptTime: one second in 100 ns units
    sim.breakIn();
    clock.advance(0);
    clock.advance(5000);
    expect(u64(0x08)).toBe(10_000_000n); // frozen while the debugger owns the machine
  });
});

describe('boot with a debugger', () => {
  it('stops at LoadSymbols for nt, hal and kdcom, the initial breakpoint, then each driver, then runs', () => {
    const { sim, clock, stops, go } = setup({ bootWithDebugger: true });
    const first = sim.stopReason();
    const seen: StopReason[] = first === undefined ? [] : [first];
    for (let i = 0; i < 20 && !sim.running; i++) {
      go();
      clock.advance(0);
      const last = stops().at(-1);
      if (!sim.running && last !== undefined && last !== seen.at(-1)) seen.push(last);
    }
    const names = seen.map((s) => (s.kind === 'load-symbols' ? s.imageName : `break ${s.code.toString(16)}`));
    expect(names).toEqual([
      ...sim.modules.slice(0, 3).map((m) => m.fullName),
      'break 80000003',
      ...sim.modules.slice(3).map((m) => m.fullName),
    ]);
    expect(seen[0]).toMatchObject({ kind: 'load-symbols', baseOfDll: sim.layout.kernBase, sizeOfImage: sim.modules[0].size, processId: 0xffffffffffffffffn });
    expect(sim.running).toBe(true);
  });
});
