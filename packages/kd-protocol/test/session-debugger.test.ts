import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { KdApi, KdPacketType, NtStatus, decodeManipulate, encodeManipulate, encodePrintString, encodeWaitStateChange, type WaitStateChangeOf } from '../src/index.js';
import { createKdcomLink } from '../src/index.js';
import { createMemoryBytePair, createMemoryPacketPair, type MemoryPacketLink } from '../src/index.js';
import type { KdPacket } from '../src/packet-link.js';
import { createDebuggerSession, createTargetSession, type DebuggerEvent, type DebuggerSession, type TargetSession } from '../src/index.js';
import { CODE, KERNEL_BASE, createTestBackend, patternByte, type TestBackend } from './session-test-backend.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function pair(): [MemoryPacketLink, MemoryPacketLink] {
  const links = createMemoryPacketPair();
  cleanups.push(() => links[0].close(), () => links[1].close());
  return links;
}

function connected(backend: TestBackend = createTestBackend(), options: Parameters<typeof createDebuggerSession>[1] = {}) {
  const [debuggerEnd, targetEnd] = pair();
  const target: TargetSession = createTargetSession(targetEnd, backend);
  const session: DebuggerSession = createDebuggerSession(debuggerEnd, { timeoutMs: 2000, ...options });
  cleanups.push(() => session.close(), () => target.close());
  const events: DebuggerEvent[] = [];
  session.events$.subscribe((e) => events.push(e));
  return { session, target, backend, events, debuggerEnd, targetEnd };
}

function expectPattern(address: bigint, data: Uint8Array): void {
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== patternByte(address + BigInt(i))) throw new Error(`byte ${i} at 0x${(address + BigInt(i)).toString(16)} differs`);
  }
}

describe('DebuggerSession ↔ TargetSession', () => {
  it('attaches to a stopped target, reads version, memory, context and control space', async () => {
    const { session, backend } = connected();
    const stop = (await session.attach()) as WaitStateChangeOf<'exception'>;
    expect(stop).toMatchObject({ kind: 'exception', exceptionCode: NtStatus.Breakpoint, programCounter: CODE });
    expect(session.state).toBe('stopped');
    const version = await session.getVersion();
    expect(version).toMatchObject({ minorVersion: 19041, machineType: 0x8664, kernBase: KERNEL_BASE });

    const base = KERNEL_BASE + 0x1000000n;
    backend.map(base, 1 << 20);
    const all = await session.readVirtual(base + 3n, (1 << 20) - 3);
    expect(all).toMatchObject({ bytesRead: (1 << 20) - 3, status: 0 });
    expectPattern(base + 3n, all.data);
    const small = await session.readVirtual(base + 10n, 1000, { chunkSize: 7 });
    expect(small.bytesRead).toBe(1000);
    expectPattern(base + 10n, small.data);

    // Partial: the readable prefix and Windows' failure status.
    const partial = await session.readVirtual(base + BigInt(1 << 20) - 100n, 5000);
    expect(partial).toMatchObject({ bytesRead: 100, status: NtStatus.Unsuccessful });
    expectPattern(base + BigInt(1 << 20) - 100n, partial.data);
    expect(await session.readVirtual(0x10n, 16)).toMatchObject({ bytesRead: 0, status: NtStatus.Unsuccessful });

    const phys = await session.readPhysical(0x1000000n, 64);
    expectPattern(base, phys.data);

    const context = await session.getContext();
    expect(context.get('rip')).toBe(CODE);
    context.set('rax', 0x1234n);
    await session.setContext(context);
    expect((await session.getContext()).get('rax')).toBe(0x1234n);
    expect((await session.getContext({ processor: 1 })).get('rip')).toBe(CODE + 0x10n);

    const special = await session.getSpecialRegisters(1);
    expect(special.cr0).toBe(0x5a5a5a5a5a5a5a5an);
    const kpcr = await session.readControlSpace(1, 0n, 8);
    expect(new DataView(kpcr.data.buffer, kpcr.data.byteOffset).getBigUint64(0, true)).toBe(0xfffff80000810000n);
    expect(await session.writeControlSpace(0, 2n, new Uint8Array(8).fill(1))).toEqual({ bytesWritten: 8, status: 0 });
    expect((await session.getSpecialRegisters(0)).cr0).toBe(0x0101010101010101n);

    expect(await session.readMsr(0xc0000082, { processor: 1 })).toBe(0xfffff80000401001n);
    await session.writeMsr(0xc0000082, 5n);
    await expect(session.readMsr(0x1234)).rejects.toMatchObject({ code: 'ERR_KD_SESSION_STATUS' });
  });

  it('writes memory across chunks and reads it back; a write into a hole reports the written prefix', async () => {
    const { session, backend } = connected();
    await session.attach();
    const base = KERNEL_BASE + 0x2000000n;
    backend.map(base, 3 * 4096);
    const data = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7) & 0xff);
    expect(await session.writeVirtual(base + 5n, data, { chunkSize: 3000 })).toEqual({ bytesWritten: 10000, status: 0 });
    expect((await session.readVirtual(base + 5n, 10000)).data).toEqual(data);
    const tail = await session.writeVirtual(base + 3n * 4096n - 10n, new Uint8Array(50));
    expect(tail).toEqual({ bytesWritten: 10, status: NtStatus.Unsuccessful });
  });

  it('breakpoints, continue, hit, restore, single step, break-in, switch CPU and DbgPrint', async () => {
    const { session, backend, events } = connected();
    await session.attach();
    const handle = await session.writeBreakpoint(CODE + 2n);
    expect((await session.readVirtual(CODE, 4)).data).toEqual(Uint8Array.of(0x90, 0x90, 0xcc, 0x90));
    expect(await session.restoreBreakpoint(999)).toBe(NtStatus.Unsuccessful);

    backend.runTo = CODE + 2n;
    const hit = session.waitForStateChange();
    await session.continue();
    expect(session.state).toBe('running');
    await expect(session.getVersion()).rejects.toMatchObject({ code: 'ERR_KD_SESSION_NOT_STOPPED' });
    expect(await hit).toMatchObject({ exceptionCode: NtStatus.Breakpoint, programCounter: CODE + 2n });
    expect(await session.restoreBreakpoint(handle)).toBe(0);
    expect((await session.readVirtual(CODE + 2n, 1)).data[0]).toBe(0x90);
    backend.runTo = undefined;

    const step = await session.singleStep();
    expect(step).toMatchObject({ exceptionCode: NtStatus.SingleStep, programCounter: CODE + 3n });

    await session.continue({ status: NtStatus.DbgExceptionHandled });
    // ContinueApi2 carries Dr7 (0x400 with no hardware breakpoint armed), handed to the backend.
    expect(backend.resumes.at(-1)).toEqual({ singleStep: false, cpu: 0, continueStatus: NtStatus.DbgExceptionHandled, dr7: 0x400n });
    backend.print('alive\n');
    const print = await firstValueFrom(session.events$.pipe(filter((e) => e.kind === 'print')));
    expect(print).toMatchObject({ text: 'alive\n' });
    const broke = await session.breakIn();
    expect(broke).toMatchObject({ exceptionCode: NtStatus.Breakpoint });

    const other = await session.switchProcessor(1);
    expect(other).toMatchObject({ processor: 1, programCounter: CODE + 0x10n });
    expect(session.currentProcessor).toBe(1);
    expect((await session.getContext()).get('rip')).toBe(CODE + 0x10n);
    expect(events.filter((e) => e.kind === 'state-change').length).toBeGreaterThanOrEqual(5);
  });

  it('attaches to a running target by breaking in', async () => {
    const backend = createTestBackend();
    backend.resume({ singleStep: false, cpu: 0, continueStatus: 0 });
    const { session } = connected(backend, { attachProbeMs: 50 });
    const stop = await session.attach();
    expect(stop).toMatchObject({ exceptionCode: NtStatus.Breakpoint });
    expect(backend.running).toBe(false);
    expect(await session.getVersion()).toMatchObject({ minorVersion: 19041 });
  });
});

/** A raw target end the test drives by hand. */
function rawTarget() {
  const [debuggerEnd, targetEnd] = pair();
  const session = createDebuggerSession(debuggerEnd, { timeoutMs: 2000, attachProbeMs: 20 });
  cleanups.push(() => session.close());
  const inbox: KdPacket[] = [];
  let wake: (() => void) | undefined;
  targetEnd.events$.subscribe((e) => {
    if (e.kind === 'packet') {
      inbox.push(e.packet);
      wake?.();
    }
  });
  const next = async (): Promise<KdPacket> => {
    while (inbox.length === 0) await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, 20)));
    return inbox.shift()!;
  };
  const stateChange = (code: number) => targetEnd.send({ type: KdPacketType.StateChange64, payload: encodeWaitStateChange({ kind: 'exception', arch: 'amd64', exceptionCode: code, numberProcessors: 1 }) });
  return { session, debuggerEnd, targetEnd, next, stateChange, inbox };
}

describe('DebuggerSession against a misbehaving target', () => {
  it('continue() then waitForStateChange() sees a stop that arrived in the same read as the ACK', async () => {
    // KDCOM on both sides of a byte pair whose target→debugger direction holds the ACK of the
    // continue back and delivers it together with the next state change, as one socket read can.
    let mergeNextAck = false;
    let held: Uint8Array | undefined;
    const [debuggerBytes, targetBytes] = createMemoryBytePair({
      fault: (chunk, direction) => {
        if (direction !== 'b→a') return chunk;
        if (mergeNextAck && held === undefined && chunk.length === 16 && chunk[4] === KdPacketType.Acknowledge) {
          held = chunk;
          return null;
        }
        if (held === undefined) return chunk;
        const merged = new Uint8Array(held.length + chunk.length);
        merged.set(held);
        merged.set(chunk, held.length);
        held = undefined;
        mergeNextAck = false;
        return merged;
      },
    });
    const debuggerLink = createKdcomLink(debuggerBytes, { role: 'target-facing' });
    const targetLink = createKdcomLink(targetBytes, { role: 'debugger-facing' });
    cleanups.push(() => debuggerLink.close(), () => targetLink.close());
    const stop = (code: number) => targetLink.send({ type: KdPacketType.StateChange64, payload: encodeWaitStateChange({ kind: 'exception', arch: 'amd64', exceptionCode: code, numberProcessors: 1 }) });
    targetLink.events$.subscribe((e) => {
      if (e.kind === 'reset') void stop(NtStatus.Breakpoint);
      // The target hits a breakpoint the moment it runs: its stop follows the ACK at once.
      if (e.kind === 'packet' && decodeManipulate(e.packet.payload).apiNumber === KdApi.ContinueApi2) void stop(NtStatus.SingleStep);
    });
    const session = createDebuggerSession(debuggerLink, { timeoutMs: 2000 });
    cleanups.push(() => session.close());
    await session.attach({ breakIn: 'never' });
    mergeNextAck = true;
    await session.continue();
    const hit = await session.waitForStateChange(1000);
    expect(hit.kind === 'exception' && hit.exceptionCode).toBe(NtStatus.SingleStep);
    // Claimed once: the next wait is for a new stop.
    await expect(session.waitForStateChange(50)).rejects.toMatchObject({ code: 'ERR_KD_SESSION_TIMEOUT' });
  });

  it('times out with a typed error when the target never answers', async () => {
    const { session, stateChange } = rawTarget();
    await expect(session.attach({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'ERR_KD_SESSION_TIMEOUT' });
    await stateChange(NtStatus.Breakpoint);
    await session.waitForStateChange(500).catch(() => undefined);
    expect(session.state).toBe('stopped');
    await expect(session.getVersion({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'ERR_KD_SESSION_TIMEOUT', details: { api: 'GetVersion' } });
  });

  it('fails a pending call at once when the target vanishes', async () => {
    const { session, stateChange, targetEnd, next } = rawTarget();
    const attached = session.attach();
    await stateChange(NtStatus.Breakpoint);
    await attached;
    const pending = session.readVirtual(CODE, 100_000, { timeoutMs: 60_000 });
    await next();
    const started = Date.now();
    targetEnd.disconnect();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_KD_SESSION_DISCONNECTED', disconnected: true });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(session.state).toBe('detached');
    await expect(session.getVersion()).rejects.toMatchObject({ code: 'ERR_KD_SESSION_NOT_STOPPED' });
  });

  it('re-sends a request the target dropped for a new stop, ignores stale replies, passes DbgPrint through', async () => {
    const { session, stateChange, targetEnd, next } = rawTarget();
    const attached = session.attach();
    await stateChange(NtStatus.Breakpoint);
    await attached;
    const prints: string[] = [];
    session.events$.subscribe((e) => e.kind === 'print' && prints.push(e.text));
    const version = session.getVersion();
    const first = await next();
    expect(decodeManipulate(first.payload).apiNumber).toBe(KdApi.GetVersion);
    await stateChange(NtStatus.SingleStep); // stopped anew: the target dropped the request
    const again = await next();
    expect(again.payload).toEqual(first.payload);
    await targetEnd.send({ type: KdPacketType.DebugIo, payload: encodePrintString('interleaved\n') });
    await targetEnd.send({ type: KdPacketType.StateManipulate, payload: encodeManipulate({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory }) });
    const reply = encodeManipulate({ ...decodeManipulate(again.payload), layout: 'getVersion', returnStatus: 0, minorVersion: 7601 });
    await targetEnd.send({ type: KdPacketType.StateManipulate, payload: reply });
    await targetEnd.send({ type: KdPacketType.StateManipulate, payload: reply }); // a duplicate
    expect(await version).toMatchObject({ minorVersion: 7601 });
    expect(prints).toEqual(['interleaved\n']);
    expect(session.lastStateChange).toMatchObject({ exceptionCode: NtStatus.SingleStep });

    const second = session.getVersion();
    const request = await next();
    const reply2 = encodeManipulate({ ...decodeManipulate(request.payload), layout: 'getVersion', returnStatus: 0, minorVersion: 9200 });
    await targetEnd.send({ type: KdPacketType.StateManipulate, payload: reply2 });
    expect(await second).toMatchObject({ minorVersion: 9200 });
  });

  it('gives up with ERR_KD_SESSION_INTERRUPTED when the target only keeps stopping', async () => {
    const { session, stateChange, next } = rawTarget();
    const attached = session.attach();
    await stateChange(NtStatus.Breakpoint);
    await attached;
    const version = session.getVersion();
    for (let i = 0; i < 4; i++) {
      await next();
      await stateChange(NtStatus.Breakpoint);
    }
    await expect(version).rejects.toMatchObject({ code: 'ERR_KD_SESSION_INTERRUPTED' });
  });

  it('close() cancels pending calls; a debugger-facing link is refused', async () => {
    const { session, stateChange, next } = rawTarget();
    const attached = session.attach();
    await stateChange(NtStatus.Breakpoint);
    await attached;
    const version = session.getVersion({ timeoutMs: 60_000 });
    await next();
    await session.close();
    await expect(version).rejects.toMatchObject({ code: 'ERR_KD_SESSION_CLOSED', canceled: true });
    const [, targetEnd] = pair();
    expect(() => createDebuggerSession(targetEnd)).toThrow(expect.objectContaining({ code: 'ERR_KD_SESSION_WRONG_ROLE' }) as Error);
  });
});
