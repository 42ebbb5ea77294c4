import { openGuest } from '@vmkd/connect';
import { createDebuggerSession, createKdcomLink, createMemoryBytePair, dr6Slots, NtStatus, type DebuggerSession, type OpenedLink, type WaitStateChange } from '@vmkd/kd-protocol';
import { route } from '@vmkd/router';
import { createSimTarget, GlobalOffset, type SimTarget } from '@vmkd/sim-target';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * WinDbg's attach, played by DebuggerSession against the virtual kernel through the router, with
 * KDCOM on the debugger's hop and the guest on a serial line (KDCOM) or on the accelerated KDRPC
 * path: GetVersion, KDDEBUGGER_DATA64, nt's PE header, debug directory and RSDS record, every
 * module on PsLoadedModuleList likewise, KUSER_SHARED_DATA; then a hardware write watchpoint that
 * fires, a bugcheck that is reported, and a reboot that is survived.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const GUESTS: [string, string][] = [
  ['serial (KDCOM)', 'sim://?via=serial&baud=0&build=19041&cpus=2'],
  ['KDRPC', 'sim://?via=kdrpc&build=19041&cpus=2'],
];
const open = (uri: string, sim: SimTarget): Promise<OpenedLink> => openGuest(uri, { simTarget: { backend: sim, dataRegion: sim.layout.dataRegion } });

function u16(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at, true);
}
function u32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}
function u64(b: Uint8Array, at: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
}

async function read(session: DebuggerSession, address: bigint, length: number): Promise<Uint8Array> {
  const r = await session.readVirtual(address, length);
  expect(r.bytesRead).toBe(length);
  return r.data;
}

/** What WinDbg takes from an image: header fields and the CodeView record of its debug directory. */
async function identify(session: DebuggerSession, base: bigint) {
  const header = await read(session, base, 0x1000);
  expect(u16(header, 0)).toBe(0x5a4d);
  const pe = u32(header, 0x3c);
  expect(u32(header, pe)).toBe(0x4550);
  const optional = pe + 24;
  const debugRva = u32(header, optional + 0x70 + 6 * 8);
  const debugSize = u32(header, optional + 0x70 + 6 * 8 + 4);
  expect(debugSize).toBeGreaterThanOrEqual(28);
  const directory = await read(session, base + BigInt(debugRva), 28);
  expect(u32(directory, 12)).toBe(2); // IMAGE_DEBUG_TYPE_CODEVIEW
  const cv = await read(session, base + BigInt(u32(directory, 20)), u32(directory, 16));
  expect(u32(cv, 0)).toBe(0x53445352); // 'RSDS'
  const guid = cv.subarray(4, 20);
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
  const gv = new DataView(guid.buffer, guid.byteOffset, 16);
  return {
    timeDateStamp: u32(header, pe + 8),
    sizeOfImage: u32(header, optional + 0x38),
    guid: hex(gv.getUint32(0, true), 8) + hex(gv.getUint16(4, true), 4) + hex(gv.getUint16(6, true), 4) + [...guid.subarray(8)].map((b) => hex(b, 2)).join(''),
    age: u32(cv, 20),
    pdb: new TextDecoder().decode(cv.subarray(24, cv.indexOf(0, 24))),
  };
}

const exception = (s: WaitStateChange) => {
  if (s.kind !== 'exception') throw new Error(`expected an exception, got ${s.kind}`);
  return s;
};

describe.each(GUESTS)("WinDbg's attach through the router, guest on %s", (_name, uri) => {
  it('identifies nt and every module, watches a write, reports a bugcheck and survives a reboot', { timeout: 120_000 }, async () => {
    const sim = createSimTarget({ build: 'win10-2004-x64', cpus: 2, printIntervalMs: 0 });
    cleanups.push(() => sim.close());
    const guest = await open(uri, sim);
    cleanups.push(() => guest.close());
    const [routerEnd, debuggerEnd] = createMemoryBytePair({ names: ['router:kdcom', 'windbg:kdcom'] });
    const endpoint = createKdcomLink(routerEnd, { role: 'debugger-facing' });
    const debuggerLink = createKdcomLink(debuggerEnd, { role: 'target-facing' });
    const r = route(guest.link, endpoint);
    cleanups.push(() => r.close());
    cleanups.push(() => debuggerLink.close());
    const session = createDebuggerSession(debuggerLink, { timeoutMs: 20_000 });
    cleanups.push(() => session.close());
    const prints: string[] = [];
    session.events$.subscribe((e) => {
      if (e.kind === 'print') prints.push(e.text);
    });

    await session.attach();
    // GetVersion → KDDEBUGGER_DATA64.
    const version = await session.getVersion();
    expect(version).toMatchObject({ minorVersion: 19041, machineType: 0x8664 });
    const kdbg = u64(await read(session, version.debuggerDataList, 8), 0);
    const block = await read(session, kdbg, 0x368);
    expect(new TextDecoder().decode(block.subarray(0x10, 0x14))).toBe('KDBG');
    expect(u64(block, 0x18)).toBe(version.kernBase);
    expect(u64(block, 0x48)).toBe(version.psLoadedModuleList);
    // nt's PE header, debug directory and RSDS record: what WinDbg asks the symbol server for.
    const nt = await identify(session, version.kernBase);
    expect(nt).toMatchObject({ pdb: 'ntkrnlmp.pdb', age: 1, guid: sim.modules[0].pdb.guid });
    // Every module on PsLoadedModuleList the same way; the LDR entry and the header agree.
    const pdbs: string[] = [];
    for (let entry = u64(await read(session, version.psLoadedModuleList, 8), 0); entry !== version.psLoadedModuleList; ) {
      const ldr = await read(session, entry, 0xa0);
      const image = await identify(session, u64(ldr, 0x30));
      expect(image.sizeOfImage).toBe(u32(ldr, 0x40));
      expect(image.timeDateStamp).toBe(u32(ldr, 0x9c));
      pdbs.push(image.pdb);
      entry = u64(ldr, 0);
    }
    expect(pdbs.slice(0, 3)).toEqual(['ntkrnlmp.pdb', 'hal.pdb', 'kdcom.pdb']);
    expect(pdbs.length).toBe(sim.modules.length);
    // WinDbg clears breakpoint handles and tries GetContextEx before GetContext.
    expect(await session.restoreBreakpoint(1)).toBe(NtStatus.Unsuccessful);
    expect((await session.getContextEx(0, 0x4d0)).length).toBe(0x4d0);
    // KUSER_SHARED_DATA: version and build.
    const kuser = await read(session, 0xfffff78000000000n, 0x400);
    expect([u32(kuser, 0x26c), u32(kuser, 0x270), u32(kuser, 0x260)]).toEqual([10, 0, 19041]);

    // A hardware write watchpoint on the idle loop's counter fires on one of the CPUs.
    const counter = sim.layout.globals + BigInt(GlobalOffset.IdleLoopCount);
    await session.setHardwareBreakpoints([{ slot: 2, address: counter, kind: 'write', length: 8 }]);
    await session.continue();
    const watch = exception(await session.waitForStateChange());
    expect(watch.exceptionCode).toBe(NtStatus.SingleStep);
    expect(dr6Slots(watch.dr6)).toEqual([2]);
    await session.setHardwareBreakpoints([]);

    // A bugcheck: the banner, then the breakpoint in KeBugCheckEx with the code in RCX.
    await session.causeBugCheck();
    const bugcheck = exception(await session.waitForStateChange());
    expect(bugcheck.exceptionCode).toBe(NtStatus.Breakpoint);
    expect(bugcheck.programCounter).toBe(sim.layout.keBugCheckEx + 0x10n);
    expect(prints.join('')).toContain('*** Fatal System Error: 0x000000e2');
    expect((await session.getContext({ processor: bugcheck.processor })).get('rcx')).toBe(0xe2n);

    // A reboot: the new kernel reports nt, hal, kdcom, the initial breakpoint and the drivers.
    await session.reboot();
    const loads: string[] = [];
    let initialBreak = false;
    while (loads.length < sim.modules.length) {
      const s = await session.waitForStateChange();
      if (s.kind === 'loadSymbols') loads.push(new TextDecoder().decode(s.data.subarray(0, s.data.indexOf(0))));
      else initialBreak = exception(s).exceptionCode === NtStatus.Breakpoint && loads.length === 3;
      await session.continue();
    }
    expect(initialBreak).toBe(true);
    expect(loads).toEqual(sim.modules.map((m) => m.fullName));
    await session.breakIn();
    expect((await session.getVersion()).minorVersion).toBe(19041);
    expect((await identify(session, version.kernBase)).pdb).toBe('ntkrnlmp.pdb');
  });
});
