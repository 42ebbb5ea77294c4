import {
  NtStatus,
  createDebuggerSession,
  createMemoryPacketPair,
  createTargetSession,
  dr6Slots,
  type DebuggerSession,
  type TargetSession,
  type WaitStateChange,
} from '@vmkd/kd-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { GlobalOffset, createSimTarget, type SimTarget, type SimTargetOptions } from '../src/index.js';

/**
 * Every manipulate API Windows answers, asked by DebuggerSession of the virtual kernel through
 * TargetSession (a memory packet pair: the protocol path without a transport). Expected values come
 * from the PC the kernel models (COM1 16550, PCI mechanism #1, the PCI devices), from the kernel's
 * own memory read back, or from the x86 rules for debug registers.
 */
let open: { sim: SimTarget; target: TargetSession; session: DebuggerSession; close(): Promise<void> } | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function attach(options: SimTargetOptions = {}) {
  const sim = createSimTarget({ printIntervalMs: 0, ...options });
  const [debuggerLink, targetLink] = createMemoryPacketPair();
  const target = createTargetSession(targetLink, sim);
  const session = createDebuggerSession(debuggerLink, { timeoutMs: 20_000 });
  const first = await session.attach();
  open = {
    sim,
    target,
    session,
    async close() {
      await session.close();
      await target.close();
      await debuggerLink.close();
      await targetLink.close();
      sim.close();
    },
  };
  return { sim, session, first };
}

const exception = (s: WaitStateChange) => {
  if (s.kind !== 'exception') throw new Error(`expected an exception state change, got ${s.kind}`);
  return s;
};

describe('manipulate APIs against the virtual kernel', () => {
  it('GetContextEx returns the CONTEXT GetContext returns; SetContextEx writes a window of it', async () => {
    const { session } = await attach();
    const whole = await session.getContext();
    const ex = await session.getContextEx(0, 0x4d0);
    expect(ex).toEqual(whole.bytes);
    const rip = await session.getContextEx(0xf8, 8);
    expect(new DataView(rip.buffer).getBigUint64(0, true)).toBe(whole.get('rip'));
    const value = new Uint8Array(8);
    new DataView(value.buffer).setBigUint64(0, 0x1122334455667788n, true);
    expect(await session.setContextEx(0x80, value)).toBe(8); // RCX
    expect((await session.getContext()).get('rcx')).toBe(0x1122334455667788n);
  });

  it('searches, fills and queries kernel memory', async () => {
    const { sim, session } = await attach();
    // The KDDEBUGGER_DATA64 owner tag 'KDBG' lies in nt's .data; search finds it where the block is.
    const kdbg = sim.layout.kdDebuggerDataBlock;
    expect(await session.searchMemory(sim.layout.kernBase + 0x100000n, 0x200000n, new TextEncoder().encode('KDBG'))).toBe(kdbg + 0x10n);
    expect(await session.searchMemory(kdbg + 0x11n, 0x100n, new TextEncoder().encode('KDBG'))).toBeUndefined();
    const at = sim.layout.dataRegion.virtualBase + 0x3000n;
    expect(await session.fillMemory(at, 4099, Uint8Array.of(0xde, 0xad))).toEqual({ bytesWritten: 4099, status: 0 });
    const back = await session.readVirtual(at, 4100);
    expect([...back.data.subarray(0, 4)]).toEqual([0xde, 0xad, 0xde, 0xad]);
    expect(back.data[4098]).toBe(0xde);
    expect(back.data[4099]).toBe(sim.readVirtual(at + 4099n, 1, 0)[0]);
    const physical = sim.layout.dataRegion.physicalBase + 0x9000n;
    expect((await session.fillMemory(physical, 16, Uint8Array.of(7), { physical: true })).bytesWritten).toBe(16);
    expect([...sim.readPhysical(physical, 17)].slice(0, 16)).toEqual(new Array(16).fill(7));
    // nt's .text is executable and not writable; .data is writable; a hole is refused.
    expect(await session.queryMemory(sim.layout.breakpointWithStatus)).toEqual({ addressSpace: 'kernel', read: true, write: false, execute: true, fixed: false });
    expect(await session.queryMemory(kdbg)).toMatchObject({ addressSpace: 'kernel', write: true, execute: false });
    await expect(session.queryMemory(0xfffff80000850000n)).rejects.toMatchObject({ code: 'ERR_KD_SESSION_STATUS' });
  });

  it('reads and writes the 16550 and PCI configuration space through I/O ports and bus data', async () => {
    const { session } = await attach();
    expect(await session.readIoSpace(0x3fdn, 1)).toBe(0x60); // LSR: transmitter empty
    await session.writeIoSpace(0x3ffn, 1, 0x5a); // scratch register
    expect(await session.readIoSpace(0x3ffn, 1)).toBe(0x5a);
    await expect(session.readIoSpace(0x1234n, 1)).rejects.toMatchObject({ code: 'ERR_KD_SESSION_STATUS' });
    // Mechanism #1: address 0x80000000 | bus 0, device 3, function 0, register 0 → the e1000's ids.
    await session.writeIoSpace(0xcf8n, 4, 0x80001800);
    expect(await session.readIoSpace(0xcfcn, 4)).toBe(0x100e8086);
    expect(await session.readIoSpaceExtended({ address: 0xcfen, size: 2 })).toBe(0x100e);
    // Get/SetBusData on PCI: the same device; the interrupt line is writable, the vendor id is not.
    const header = await session.getBusData({ busNumber: 0, slotNumber: 3 }, 0, 64);
    expect(header.length).toBe(64);
    expect(new DataView(header.buffer).getUint32(0, true)).toBe(0x100e8086);
    expect(header[0x0b]).toBe(0x02); // network controller
    expect(await session.setBusData({ busNumber: 0, slotNumber: 3 }, 0x3c, Uint8Array.of(5))).toBe(1);
    expect((await session.getBusData({ busNumber: 0, slotNumber: 3 }, 0x3c, 1))[0]).toBe(5);
    await session.setBusData({ busNumber: 0, slotNumber: 3 }, 0, Uint8Array.of(0, 0));
    expect([...(await session.getBusData({ busNumber: 0, slotNumber: 3 }, 0, 2))]).toEqual([0x86, 0x80]);
    // An empty slot reads as all ones, as a master abort does.
    expect([...(await session.getBusData({ busNumber: 0, slotNumber: 9 }, 0, 2))]).toEqual([0xff, 0xff]);
  });

  it('plants and removes breakpoints in batches, checks low memory, clears internal breakpoints', async () => {
    const { sim, session } = await attach();
    const a = sim.layout.idleLoopStart + 0x20n;
    const b = sim.layout.idleLoopStart + 0x40n;
    const handles = await session.writeBreakpoints([a, b]);
    expect(handles.every((h) => h > 0)).toBe(true);
    expect(sim.readVirtual(a, 1, 0)[0]).toBe(0xcc);
    expect(await session.restoreBreakpoints(handles)).toBe(NtStatus.Success);
    expect(sim.readVirtual(a, 1, 0)[0]).toBe(0x90);
    expect(await session.checkLowMemory()).toBe(NtStatus.Success);
    await session.clearAllInternalBreakpoints();
    expect(session.state).toBe('stopped');
    expect(await session.checkLowMemory()).toBe(NtStatus.Success); // still served after the unanswered request
  });

  it('fires a hardware write watchpoint, a read/write one and an execute breakpoint, reporting Dr6 as Windows does', async () => {
    const { sim, session } = await attach({ cpus: 2 });
    const counter = sim.layout.globals + BigInt(GlobalOffset.IdleLoopCount);
    const tick = sim.layout.kuserSharedData + 0x320n;
    // Slot 1: a write watchpoint on the idle loop's counter.
    await session.setHardwareBreakpoints([{ slot: 1, address: counter, kind: 'write', length: 8 }]);
    const before = new DataView(sim.readVirtual(counter, 8, 0).buffer).getBigUint64(0, true);
    await session.continue();
    const write = exception(await session.waitForStateChange(20_000));
    expect(write.exceptionCode).toBe(NtStatus.SingleStep);
    expect(dr6Slots(write.dr6)).toEqual([1]);
    expect(BigInt(write.dr7) & 0xcn).toBe(0x8n); // G1
    // A data breakpoint traps after the write: the counter moved by one, RIP is past the `inc`.
    expect(new DataView(sim.readVirtual(counter, 8, 0).buffer).getBigUint64(0, true)).toBe(before + 1n);
    const inc = sim.layout.idleLoopJump - 17n;
    expect(write.programCounter).toBe(inc + 7n);
    expect((await session.getContext({ processor: write.processor })).get('dr6') & 0xfn).toBe(0x2n);
    // Slot 3: read/write on KUSER_SHARED_DATA.TickCount, which the loop reads.
    await session.setHardwareBreakpoints([{ slot: 3, address: tick, kind: 'readwrite', length: 4 }]);
    await session.continue();
    const read = exception(await session.waitForStateChange(20_000));
    expect(dr6Slots(read.dr6)).toEqual([3]);
    expect(read.programCounter).toBe(inc + 17n);
    // Slot 0: an execute breakpoint faults before the instruction, at it.
    await session.setHardwareBreakpoints([{ slot: 0, address: inc, kind: 'execute', length: 1 }]);
    await session.continue();
    const exec = exception(await session.waitForStateChange(20_000));
    expect(exec).toMatchObject({ exceptionCode: NtStatus.SingleStep, programCounter: inc, exceptionAddress: inc });
    expect(dr6Slots(exec.dr6)).toEqual([0]);
    // Resuming runs the instruction (RF) and the next lap hits it again on some CPU.
    await session.continue();
    const again = exception(await session.waitForStateChange(20_000));
    expect(again.programCounter).toBe(inc);
    // Disarmed: Dr7 back to 0x400, and a single step reports Dr6.BS.
    await session.setHardwareBreakpoints([]);
    const step = exception(await session.singleStep({ processor: again.processor, timeoutMs: 20_000 }));
    expect(step.exceptionCode).toBe(NtStatus.SingleStep);
    expect(BigInt(step.dr6) & 0x4000n).toBe(0x4000n);
    expect(BigInt(step.dr7)).toBe(0x400n);
  });

  it('switches processors on a multi-CPU kernel', async () => {
    const { session, first } = await attach({ cpus: 4 });
    expect(first.numberProcessors).toBe(4);
    const switched = await session.switchProcessor(2);
    expect(switched.processor).toBe(2);
    expect(session.currentProcessor).toBe(2);
    const back = await session.switchProcessor(0);
    expect(back.processor).toBe(0);
  });

  it('bugchecks on CauseBugCheck: banner first, then a breakpoint inside KeBugCheckEx with the code readable', async () => {
    const { sim, session } = await attach();
    const prints: string[] = [];
    session.events$.subscribe((e) => {
      if (e.kind === 'print') prints.push(e.text);
    });
    await session.causeBugCheck();
    const stop = exception(await session.waitForStateChange(20_000));
    expect(prints.join('')).toContain('*** Fatal System Error: 0x000000e2');
    expect(stop.exceptionCode).toBe(NtStatus.Breakpoint);
    expect(stop.programCounter).toBe(sim.layout.keBugCheckEx + 0x10n);
    expect((await session.getContext()).get('rcx')).toBe(0xe2n);
    const data = await session.readVirtual(sim.layout.globals + BigInt(GlobalOffset.KiBugCheckData), 8);
    expect(new DataView(data.data.buffer).getBigUint64(0, true)).toBe(0xe2n);
  });

  it('reboots on Reboot: a fresh kernel reports nt, hal, kdcom, the initial breakpoint and every driver', async () => {
    const { sim, session } = await attach();
    const mark = sim.layout.dataRegion.virtualBase + 0x100n;
    await session.writeVirtual(mark, Uint8Array.of(1, 2, 3, 4));
    await session.writeBreakpoint(sim.layout.idleLoopStart + 0x30n);
    await session.reboot();
    const loads: string[] = [];
    for (;;) {
      const s = await session.waitForStateChange(20_000);
      if (s.kind === 'loadSymbols') {
        loads.push(new TextDecoder().decode(s.data.subarray(0, s.data.indexOf(0))));
        expect(s.unloadSymbols).toBe(0);
        const m = sim.modules.find((x) => x.base === s.baseOfDll);
        expect(m).toBeDefined();
        expect(s.sizeOfImage).toBe(m!.size);
      } else {
        expect(s.kind).toBe('exception');
        expect(exception(s).exceptionCode).toBe(NtStatus.Breakpoint);
        expect(loads).toEqual(sim.modules.slice(0, 3).map((m) => m.fullName));
      }
      if (loads.length === sim.modules.length) break;
      await session.continue();
    }
    expect(loads).toEqual(sim.modules.map((m) => m.fullName));
    await session.continue();
    await session.breakIn({ timeoutMs: 20_000 });
    // New memory: the mark and the breakpoint are gone.
    expect([...(await session.readVirtual(mark, 4)).data]).not.toEqual([1, 2, 3, 4]);
    expect(sim.breakpoints()).toEqual([]);
  });
});
