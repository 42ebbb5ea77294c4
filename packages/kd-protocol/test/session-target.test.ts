import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KdApi, KdPacketType, NtStatus, decodeBreakpointEntries, decodeDebugIo, decodeManipulate, encodeBreakpointEntries, decodeWaitStateChange, encodeManipulate, type ManipulateInit, type ManipulateOf, type WaitStateChangeOf } from '../src/index.js';
import { createKdcomLink } from '../src/index.js';
import { createMemoryBytePair, createMemoryPacketPair, type MemoryPacketLink } from '../src/index.js';
import { FRAME_ROOM, type KdPacket } from '../src/packet-link.js';
import { createTargetSession, type TargetSession } from '../src/index.js';
import { CODE, createTestBackend, patternByte, type TestBackend } from './session-test-backend.js';

let session: TargetSession | undefined;
let links: MemoryPacketLink[] = [];
afterEach(async () => {
  await session?.close();
  for (const l of links) await l.close();
  links = [];
});

/** A target session over a memory pair; the test plays the debugger on the raw target-facing end. */
function setup(options: Parameters<typeof createTargetSession>[2] = {}, backend: TestBackend = createTestBackend()) {
  const [debuggerEnd, targetEnd] = createMemoryPacketPair();
  links = [debuggerEnd, targetEnd];
  const inbox: KdPacket[] = [];
  const waiters: (() => void)[] = [];
  debuggerEnd.events$.subscribe((e) => {
    if (e.kind !== 'packet') return;
    inbox.push(e.packet);
    waiters.splice(0).forEach((w) => w());
  });
  session = createTargetSession(targetEnd, backend, options);
  const next = async (timeoutMs = 1000): Promise<KdPacket> => {
    const deadline = Date.now() + timeoutMs;
    while (inbox.length === 0) {
      if (Date.now() > deadline) throw new Error('no packet from the target');
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
    return inbox.shift()!;
  };
  const request = async (message: ManipulateInit): Promise<KdPacket> => {
    await debuggerEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate(message) });
    return next();
  };
  return { debuggerEnd, backend, inbox, next, request };
}

describe('TargetSession', () => {
  it('announces the stop it starts in with an AMD64 control report from the context and memory', async () => {
    const { next } = setup();
    const packet = await next();
    expect(packet.type).toBe(KdPacketType.StateChange64);
    const s = decodeWaitStateChange(packet.payload) as WaitStateChangeOf<'exception'>;
    expect(s).toMatchObject({
      kind: 'exception',
      processorLevel: 6,
      processor: 0,
      numberProcessors: 2,
      thread: 0xfffff80000500000n,
      programCounter: CODE,
      exceptionCode: NtStatus.Breakpoint,
      exceptionAddress: CODE,
      firstChance: 1,
      dr7: 0x400n,
      eFlags: 0x202,
      instructionCount: 16,
      reportFlags: 3,
      segCs: 0x10,
      segDs: 0x2b,
      segEs: 0x2b,
      segFs: 0x53,
    });
    expect([...s.instructionStream.subarray(0, 5)]).toEqual([0x90, 0x90, 0x90, 0x90, 0xc3]);
  });

  it('answers GetVersion from the backend and echoes garbage in the request untouched', async () => {
    const { next, request } = setup();
    await next();
    const reply = await request({ layout: 'getVersion', apiNumber: KdApi.GetVersion, processorLevel: 0xffff, processor: 0xffff, returnStatus: 0x103 });
    const m = decodeManipulate(reply.payload) as ManipulateOf<'getVersion'>;
    expect(m).toMatchObject({ returnStatus: 0, processorLevel: 0xffff, processor: 0xffff, minorVersion: 19041, machineType: 0x8664, flags: 7 });
    expect(m.debuggerDataList).toBe(0xfffff80000100000n);
    // Unknown API: STATUS_UNSUCCESSFUL, the request's garbage echoed byte for byte.
    const unknown = encodeManipulate({ layout: 'none', apiNumber: 0x3199, unused: new Uint8Array(44).fill(0x4e) });
    const r2 = await request(decodeManipulate(unknown));
    expect(r2.payload.subarray(0x0c)).toEqual(unknown.subarray(0x0c));
    expect(decodeManipulate(r2.payload).returnStatus).toBe(NtStatus.Unsuccessful);
  });

  it('reads memory: full, clamped to the reply limit, readable prefix, unmapped', async () => {
    const { next, request, backend } = setup({ maxReplyPayload: 2048 });
    await next();
    const read = async (address: bigint, transferCount: number) =>
      decodeManipulate((await request({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory, targetBaseAddress: address, transferCount })).payload) as ManipulateOf<'readMemory'>;
    const full = await read(CODE + 0x100n, 64);
    expect(full).toMatchObject({ returnStatus: 0, actualBytesRead: 64, transferCount: 64 });
    expect(full.data[0]).toBe(patternByte(CODE + 0x100n));
    const clamped = await read(CODE, 0x1000);
    expect(clamped).toMatchObject({ returnStatus: 0, actualBytesRead: 2048 - 56 });
    expect(clamped.data.length).toBe(2048 - 56);
    const prefix = await read(CODE + 0x2000n - 16n, 64); // the page after is unmapped
    expect(prefix).toMatchObject({ returnStatus: NtStatus.Unsuccessful, actualBytesRead: 16 });
    expect(prefix.data.length).toBe(16);
    const none = await read(0x1000n, 8);
    expect(none).toMatchObject({ returnStatus: NtStatus.Unsuccessful, actualBytesRead: 0 });
    expect(none.data.length).toBe(0);
    expect(backend.pages.has(0n)).toBe(false);
  });

  it('answers RestoreBreakPoint for unknown handles with STATUS_UNSUCCESSFUL, GetContextEx with the CONTEXT', async () => {
    const { next, request } = setup();
    await next();
    for (let handle = 1; handle <= 3; handle++) {
      const r = await request({ layout: 'restoreBreakPoint', apiNumber: KdApi.RestoreBreakPoint, breakPointHandle: handle });
      expect(decodeManipulate(r.payload).returnStatus).toBe(NtStatus.Unsuccessful);
    }
    const ctx = await request({ layout: 'getContext', apiNumber: KdApi.GetContext, processor: 1, reserved: 0x1003f });
    const whole = decodeManipulate(ctx.payload);
    expect(whole.returnStatus).toBe(0);
    expect(whole.data.length).toBe(0x4d0);
    expect(new DataView(whole.data.buffer, whole.data.byteOffset).getBigUint64(0xf8, true)).toBe(CODE + 0x10n);
    // GetContextEx (what WinDbg tries first): the same bytes, all of them or a window.
    const ex = decodeManipulate((await request({ layout: 'contextEx', apiNumber: KdApi.GetContextEx, processor: 1, offset: 0, byteCount: 0x4d0 })).payload) as ManipulateOf<'contextEx'>;
    expect(ex).toMatchObject({ returnStatus: 0, bytesCopied: 0x4d0 });
    expect(ex.data).toEqual(whole.data);
    const rip = decodeManipulate((await request({ layout: 'contextEx', apiNumber: KdApi.GetContextEx, processor: 1, offset: 0xf8, byteCount: 8 })).payload) as ManipulateOf<'contextEx'>;
    expect(rip).toMatchObject({ returnStatus: 0, bytesCopied: 8 });
    expect(rip.data).toEqual(whole.data.subarray(0xf8, 0x100));
    const past = decodeManipulate((await request({ layout: 'contextEx', apiNumber: KdApi.GetContextEx, offset: 0x4d1, byteCount: 8 })).payload);
    expect(past.returnStatus).toBe(NtStatus.Unsuccessful);
    // SetContextEx writes a window; GetContext shows it.
    const newRip = new Uint8Array(8);
    new DataView(newRip.buffer).setBigUint64(0, CODE + 0x40n, true);
    const set = decodeManipulate((await request({ layout: 'contextEx', apiNumber: KdApi.SetContextEx, processor: 1, offset: 0xf8, byteCount: 8, data: newRip })).payload) as ManipulateOf<'contextEx'>;
    expect(set).toMatchObject({ returnStatus: 0, bytesCopied: 8 });
    const after = decodeManipulate((await request({ layout: 'getContext', apiNumber: KdApi.GetContext, processor: 1 })).payload);
    expect(new DataView(after.data.buffer, after.data.byteOffset).getBigUint64(0xf8, true)).toBe(CODE + 0x40n);
  });

  it('searches, fills and queries memory, and plants and removes breakpoints in batches', async () => {
    const { next, request, backend } = setup();
    await next();
    const needle = backend.readVirtual(CODE + 0x1234n, 6, 0);
    const search = async (from: bigint, length: bigint, pattern: Uint8Array) =>
      decodeManipulate(
        (await request({ layout: 'searchMemory', apiNumber: KdApi.SearchMemory, searchAddress: from, searchLength: length, patternLength: pattern.length, data: pattern })).payload,
      ) as ManipulateOf<'searchMemory'>;
    expect(await search(CODE + 0x1000n, 0x1000n, needle)).toMatchObject({ returnStatus: 0, searchAddress: CODE + 0x1234n });
    expect((await search(CODE + 0x1235n, 0x100n, needle)).returnStatus).toBe(NtStatus.NoMoreEntries);
    // FillMemory: a pattern repeated over a range (flags 1 = virtual); a fill into a hole reports the prefix.
    const fill = decodeManipulate(
      (await request({ layout: 'fillMemory', apiNumber: KdApi.FillMemory, address: CODE + 0x100n, length: 10, flags: 1, patternLength: 3, data: Uint8Array.of(1, 2, 3) })).payload,
    ) as ManipulateOf<'fillMemory'>;
    expect(fill).toMatchObject({ returnStatus: 0, length: 10 });
    expect([...backend.readVirtual(CODE + 0x100n, 11, 0)]).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, patternByte(CODE + 0x10an)]);
    const short = decodeManipulate(
      (await request({ layout: 'fillMemory', apiNumber: KdApi.FillMemory, address: CODE + 0x2000n - 4n, length: 16, flags: 1, patternLength: 1, data: Uint8Array.of(0xee) })).payload,
    ) as ManipulateOf<'fillMemory'>;
    expect(short).toMatchObject({ returnStatus: NtStatus.Unsuccessful, length: 4 });
    // QueryMemory: kernel address space, readable; an unmapped address fails.
    const q = decodeManipulate((await request({ layout: 'queryMemory', apiNumber: KdApi.QueryMemory, address: CODE })).payload) as ManipulateOf<'queryMemory'>;
    expect(q.returnStatus).toBe(0);
    expect(q.addressSpace).toBe(2);
    expect(q.flags & 1).toBe(1);
    expect(decodeManipulate((await request({ layout: 'queryMemory', apiNumber: KdApi.QueryMemory, address: 0x1000n })).payload).returnStatus).toBe(NtStatus.Unsuccessful);
    // WriteBreakPointEx / RestoreBreakPointEx: DBGKD_WRITE_BREAKPOINT64 entries, handles filled in.
    const entries = encodeBreakpointEntries([
      { address: CODE + 0x20n, handle: 0 },
      { address: CODE + 0x30n, handle: 0 },
    ]);
    const wrote = decodeManipulate((await request({ layout: 'breakPointEx', apiNumber: KdApi.WriteBreakPointEx, breakPointCount: 2, data: entries })).payload);
    expect(wrote.returnStatus).toBe(0);
    const handles = decodeBreakpointEntries(wrote.data, 2);
    expect(handles.map((h) => h.address)).toEqual([CODE + 0x20n, CODE + 0x30n]);
    expect(handles.every((h) => h.handle !== 0)).toBe(true);
    expect(backend.readVirtual(CODE + 0x20n, 1, 0)[0]).toBe(0xcc);
    const restored = decodeManipulate(
      (await request({ layout: 'breakPointEx', apiNumber: KdApi.RestoreBreakPointEx, breakPointCount: 2, data: encodeBreakpointEntries(handles) })).payload,
    );
    expect(restored.returnStatus).toBe(0);
    expect(backend.readVirtual(CODE + 0x20n, 1, 0)[0]).toBe(patternByte(CODE + 0x20n));
    // CheckLowMemory: answered with success.
    expect(decodeManipulate((await request({ layout: 'none', apiNumber: KdApi.CheckLowMemory })).payload).returnStatus).toBe(0);
    // No I/O ports or buses on this backend: those requests are answered STATUS_UNSUCCESSFUL.
    expect(decodeManipulate((await request({ layout: 'readWriteIo', apiNumber: KdApi.WriteIoSpace, ioAddress: 0x80n, dataSize: 1 })).payload).returnStatus).toBe(NtStatus.Unsuccessful);
    expect(decodeManipulate((await request({ layout: 'getSetBusData', apiNumber: KdApi.GetBusData, busDataType: 4, length: 4 })).payload).returnStatus).toBe(NtStatus.Unsuccessful);
  });

  it("shows the code under the debugger's own breakpoints in a state change's instruction stream (spec 2.5)", async () => {
    const { next, request, debuggerEnd } = setup();
    await next();
    const planted = await request({ layout: 'writeBreakPoint', apiNumber: KdApi.WriteBreakPoint, breakPointAddress: CODE + 2n });
    const handle = (decodeManipulate(planted.payload) as ManipulateOf<'writeBreakPoint'>).breakPointHandle;
    // Memory really carries the int3 ...
    const read = await request({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory, targetBaseAddress: CODE, transferCount: 5 });
    expect([...read.payload.subarray(56)]).toEqual([0x90, 0x90, 0xcc, 0x90, 0xc3]);
    // ... but the next stop reports the original instruction bytes.
    await debuggerEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate({ layout: 'continue2', apiNumber: KdApi.ContinueApi2, continueStatus: NtStatus.DbgContinue }) });
    await debuggerEnd.breakIn();
    const stop = decodeWaitStateChange((await next()).payload) as WaitStateChangeOf<'exception'>;
    expect(stop.programCounter).toBe(CODE);
    expect([...stop.instructionStream.subarray(0, 5)]).toEqual([0x90, 0x90, 0x90, 0x90, 0xc3]);
    // A restored breakpoint is forgotten: nothing is patched over memory the debugger no longer owns.
    const restored = await request({ layout: 'restoreBreakPoint', apiNumber: KdApi.RestoreBreakPoint, breakPointHandle: handle });
    expect(decodeManipulate(restored.payload).returnStatus).toBe(NtStatus.Success);
  });

  it('Continue gets no reply and resumes; a break-in stops the target and the state change follows', async () => {
    const { next, debuggerEnd, backend, inbox } = setup();
    await next();
    await debuggerEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate({ layout: 'continue2', apiNumber: KdApi.ContinueApi2, continueStatus: NtStatus.DbgContinue, dr7: 0x400n }) });
    await new Promise((r) => setTimeout(r, 30));
    expect(inbox).toEqual([]);
    expect(backend.running).toBe(true);
    expect(backend.resumes).toEqual([{ singleStep: false, cpu: 0, continueStatus: NtStatus.DbgContinue, dr7: 0x400n }]);
    // While running, requests are not served (a real stub does not read them).
    await debuggerEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate({ layout: 'getVersion', apiNumber: KdApi.GetVersion }) });
    await debuggerEnd.breakIn();
    const s = decodeWaitStateChange((await next()).payload);
    expect(s).toMatchObject({ kind: 'exception', exceptionCode: NtStatus.Breakpoint });
    expect(inbox).toEqual([]);
    // Single step: TraceFlag 1 → a single-step exception.
    await debuggerEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate({ layout: 'continue2', apiNumber: KdApi.ContinueApi2, continueStatus: NtStatus.DbgContinue, traceFlag: 1 }) });
    expect(decodeWaitStateChange((await next()).payload)).toMatchObject({ exceptionCode: NtStatus.SingleStep, programCounter: CODE + 1n });
  });

  it('bounds DbgPrint packets waiting for a silent debugger, dropping and counting the rest', async () => {
    // A real KDCOM link whose peer reads nothing and acknowledges nothing: every print stays in flight.
    const [targetBytes, silentDebugger] = createMemoryBytePair();
    silentDebugger.data$.subscribe(() => undefined);
    const link = createKdcomLink(targetBytes, { role: 'debugger-facing', name: 'silent' });
    const backend = createTestBackend();
    session = createTargetSession(link, backend, { maxPrintsInFlight: 3 });
    const seen: string[] = [];
    let dropped = 0;
    session.activity$.subscribe((a) => {
      if (a.kind === 'print' || a.kind === 'print-dropped') seen.push(a.kind);
      if (a.kind === 'print-dropped') dropped = a.dropped;
    });
    for (let i = 0; i < 100; i += 1) backend.print(`line ${i}\n`);
    expect(seen.filter((k) => k === 'print')).toHaveLength(3);
    expect(dropped).toBe(97);
    // Once the link gives the waiting prints up (here: closed), new prints are taken again.
    await link.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    backend.print('after\n');
    expect(seen.at(-1)).toBe('print');
  });

  it('refuses a maxPrintsInFlight that is not a positive integer', () => {
    const [debuggerEnd, targetEnd] = createMemoryPacketPair();
    links = [debuggerEnd, targetEnd];
    expect(() => createTargetSession(targetEnd, createTestBackend(), { maxPrintsInFlight: 0 })).toThrow(expect.objectContaining({ code: 'ERR_KD_SESSION_BAD_ARGUMENT' }) as Error);
  });

  it('re-sends the pending state change on reset, sends DbgPrint and load-symbols, switches processors', async () => {
    const { next, debuggerEnd, backend } = setup();
    const first = await next();
    await debuggerEnd.resync();
    expect((await next()).payload).toEqual(first.payload);
    backend.print('hello from the kernel\n');
    const print = await next();
    expect(print.type).toBe(KdPacketType.DebugIo);
    const io = decodeDebugIo(print.payload);
    expect(io).toMatchObject({ layout: 'printString', lengthOfString: 22 });
    expect(new TextDecoder().decode(io.data)).toBe('hello from the kernel\n');
    backend.stop({ kind: 'load-symbols', cpu: 0, unload: false, imageName: '\\SystemRoot\\system32\\drivers\\test.sys', baseOfDll: 0xfffff88000000000n, sizeOfImage: 0x8000, checkSum: 0x1234, processId: 0n });
    const load = decodeWaitStateChange((await next()).payload) as WaitStateChangeOf<'loadSymbols'>;
    expect(load).toMatchObject({ kind: 'loadSymbols', baseOfDll: 0xfffff88000000000n, sizeOfImage: 0x8000, checkSum: 0x1234, pathNameLength: 38 });
    expect(new TextDecoder().decode(load.data)).toBe('\\SystemRoot\\system32\\drivers\\test.sys\0');
    await debuggerEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate({ layout: 'none', apiNumber: KdApi.SwitchProcessor, processor: 1 }) });
    const switched = decodeWaitStateChange((await next()).payload);
    expect(switched).toMatchObject({ processor: 1, programCounter: CODE + 0x10n, exceptionCode: NtStatus.WakeSystemDebugger });
  });

  it('refuses a target-facing link', () => {
    const [t, d] = createMemoryPacketPair();
    links = [t, d];
    expect(() => createTargetSession(t, createTestBackend())).toThrow(expect.objectContaining({ code: 'ERR_KD_SESSION_WRONG_ROLE' }) as Error);
  });

  it('reports its activity', async () => {
    const { next, request } = setup();
    await next();
    const requests = firstValueFrom(session!.activity$.pipe(filter((a) => a.kind === 'request'), take(1), toArray()));
    await request({ layout: 'none', apiNumber: KdApi.CheckLowMemory });
    expect(await requests).toEqual([{ kind: 'request', api: KdApi.CheckLowMemory, apiName: 'CheckLowMemory', status: NtStatus.Success }]);
  });
});

describe('TargetSession with a backend that reads in place (readVirtualInto / readPhysicalInto)', () => {
  /** The test backend plus the optional fast paths, counting their calls; `claim` can make them lie about the count. */
  function withReadInto(claim?: (honest: number, room: number) => number) {
    const backend = createTestBackend();
    const calls = { virtual: 0, physical: 0 };
    const fill = (bytes: Uint8Array, into: Uint8Array): number => {
      into.set(bytes.subarray(0, into.length));
      const honest = Math.min(bytes.length, into.length);
      return claim === undefined ? honest : claim(honest, into.length);
    };
    const fast: TestBackend = Object.assign(Object.create(backend) as TestBackend, {
      readVirtualInto(address: bigint, into: Uint8Array, cpu: number): number {
        calls.virtual += 1;
        return fill(backend.readVirtual(address, into.length, cpu), into);
      },
      readPhysicalInto(address: bigint, into: Uint8Array): number {
        calls.physical += 1;
        return fill(backend.readPhysical(address, into.length), into);
      },
    });
    return { fast, calls };
  }

  const cases: [number, bigint, number][] = [
    [KdApi.ReadVirtualMemory, CODE + 0x100n, 64], // full
    [KdApi.ReadVirtualMemory, CODE, 0x1000], // clamped to the reply limit
    [KdApi.ReadVirtualMemory, CODE + 0x2000n - 16n, 64], // readable prefix
    [KdApi.ReadVirtualMemory, 0x1000n, 8], // unmapped
    [KdApi.ReadPhysicalMemory, CODE - 0xfffff80000000000n + 0x20n, 300],
    [KdApi.ReadPhysicalMemory, 0x7000_0000n, 16], // unmapped
  ];

  async function replies(backend: TestBackend): Promise<Uint8Array[]> {
    const { next, request } = setup({ maxReplyPayload: 2048 }, backend);
    await next();
    const out: Uint8Array[] = [];
    for (const [apiNumber, address, transferCount] of cases) {
      out.push((await request({ layout: 'readMemory', apiNumber, targetBaseAddress: address, transferCount })).payload.slice());
    }
    await session?.close();
    session = undefined;
    for (const l of links) await l.close();
    links = [];
    return out;
  }

  it('uses the fast paths when present and sends byte-for-byte the replies of the fallback', async () => {
    const plain = await replies(createTestBackend());
    const { fast, calls } = withReadInto();
    const viaInto = await replies(fast);
    expect(calls).toEqual({ virtual: 4, physical: 2 });
    expect(viaInto).toEqual(plain);
    const prefix = decodeManipulate(viaInto[2]) as ManipulateOf<'readMemory'>;
    expect(prefix).toMatchObject({ returnStatus: NtStatus.Unsuccessful, actualBytesRead: 16 });
    expect(plain[1].length).toBe(2048);
  });

  it('hands its replies to the link with room to frame them in place, the state change without', async () => {
    const [debuggerEnd, targetEnd] = createMemoryPacketPair();
    links = [debuggerEnd, targetEnd];
    const sent: KdPacket[] = [];
    const send = targetEnd.send.bind(targetEnd);
    const spy = Object.assign(Object.create(targetEnd) as MemoryPacketLink, {
      send: (p: KdPacket) => {
        sent.push(p);
        return send(p);
      },
    });
    const packets: KdPacket[] = [];
    debuggerEnd.events$.subscribe((e) => e.kind === 'packet' && packets.push(e.packet));
    session = createTargetSession(spy, withReadInto().fast);
    await vi.waitFor(() => expect(packets).toHaveLength(1));
    await debuggerEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory, targetBaseAddress: CODE, transferCount: 64 }) });
    await debuggerEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate({ layout: 'getVersion', apiNumber: KdApi.GetVersion }) });
    await vi.waitFor(() => expect(packets).toHaveLength(3));
    expect(sent.map((p) => p.frameInPlace === true)).toEqual([false, true, true]);
    for (const p of sent.slice(1)) {
      expect(p.payload.byteOffset).toBeGreaterThanOrEqual(FRAME_ROOM.head);
      expect(p.payload.buffer.byteLength - p.payload.byteOffset - p.payload.length).toBeGreaterThanOrEqual(FRAME_ROOM.tail);
    }
    expect(decodeManipulate(packets[2].payload)).toMatchObject({ apiNumber: KdApi.GetVersion, returnStatus: 0, kernBase: createTestBackend().version().kernBase });
  });

  it('never trusts a count beyond what was asked, nor a negative or non-numeric one', async () => {
    for (const [claim, expected] of [
      [(_: number, room: number) => room + 100, 64],
      [() => -5, 0],
      [() => Number.NaN, 0],
    ] as const) {
      const { next, request } = setup({}, withReadInto(claim).fast);
      await next();
      const reply = await request({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory, targetBaseAddress: CODE, transferCount: 64 });
      const decoded = decodeManipulate(reply.payload) as ManipulateOf<'readMemory'>;
      expect(decoded.actualBytesRead).toBe(expected);
      expect(decoded.data.length).toBe(expected);
      expect(decoded.returnStatus).toBe(expected === 64 ? NtStatus.Success : NtStatus.Unsuccessful);
      await session?.close();
      session = undefined;
      for (const l of links) await l.close();
      links = [];
    }
  });
});
