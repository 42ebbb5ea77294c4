import { createDebuggerSession, createTargetSession, type DebuggerSession, type PacketLink, type TargetSession } from '@vmkd/kd-protocol';
import { filter, firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { titleWithSkip } from '@vmkd/kd-protocol/testing';
import { createSimTarget, fillExpected, type SimTarget, type SimTargetOptions } from '../../src/index.js';
import { walkKernel } from './kernel-walk.js';

export interface LinkPair {
  /** The debugger's end (target-facing). */
  readonly debuggerLink: PacketLink;
  /** The target's end (debugger-facing). */
  readonly targetLink: PacketLink;
  dispose(): Promise<void>;
}

const MIB = 1024 * 1024;

/**
 * The end-to-end session of issue 3 §4: a DebuggerSession attaches to a TargetSession serving the
 * simulator over `connect()`'s links, and does what a debugger does, checking every answer.
 */
export function describeSessionScenario(
  label: string,
  connect: () => Promise<LinkPair>,
  options: { readonly verifyMiB?: number; /** Why the links cannot be made here (skipUnlessCapable). */ readonly skip?: string | undefined } = {},
): void {
  describe.skipIf(options.skip !== undefined)(titleWithSkip(label, options.skip), () => {
    let sim: SimTarget;
    let links: LinkPair;
    let target: TargetSession;
    let session: DebuggerSession;
    const simOptions: SimTargetOptions = { cpus: 2, printIntervalMs: 50 };

    beforeAll(async () => {
      sim = createSimTarget(simOptions);
      links = await connect();
      target = createTargetSession(links.targetLink, sim);
      session = createDebuggerSession(links.debuggerLink, { timeoutMs: 10_000 });
    });
    afterAll(async () => {
      await session?.close();
      await target?.close();
      await links?.dispose();
      sim?.close();
    });

    it('attaches to the stopped target and reads its version', async () => {
      const stop = await session.attach();
      expect(stop).toMatchObject({ kind: 'exception', processor: 0, programCounter: sim.layout.breakpointWithStatus, exceptionCode: 0x80000003 });
      expect(stop.thread).toBe(sim.currentThread(0));
      const version = await session.getVersion();
      expect(version).toMatchObject({ majorVersion: 0xf, minorVersion: 7601, protocolVersion: 6, machineType: 0x8664, flags: 7 });
    });

    it('walks the module and process lists by following pointers', async () => {
      const walked = await walkKernel(session, sim.build.eprocess);
      expect(walked).toMatchObject({ ownerTag: 'KDBG', size: 0x340, paeEnabled: 1, csdVersion: 0x100 });
      expect(walked.modules.map((m) => m.baseName)).toEqual(sim.modules.map((m) => m.baseName));
      expect(walked.modules[0]).toMatchObject({ baseName: 'ntoskrnl.exe', base: walked.version.kernBase, fullName: '\\SystemRoot\\system32\\ntoskrnl.exe' });
      expect(walked.modules.map((m) => m.size)).toEqual(sim.modules.map((m) => m.size));
      expect(walked.processes.map((p) => [p.pid, p.name])).toEqual(sim.processes.map((p) => [p.pid, p.imageFileName]));
      expect(walked.processes[0]).toMatchObject({ pid: 4, name: 'System' });
    });

    it(`reads ${options.verifyMiB ?? 64} MiB and verifies every byte against the formula`, async () => {
      const total = (options.verifyMiB ?? 64) * MIB;
      const base = sim.layout.dataRegion.virtualBase + 0x10_0000n;
      const step = 4 * MIB;
      const got = new Uint8Array(step);
      const expected = new Uint8Array(step);
      for (let off = 0; off < total; off += step) {
        const r = await session.readVirtualInto(base + BigInt(off), got);
        expect(r.bytesRead).toBe(step);
        fillExpected(base + BigInt(off), expected);
        expect(Buffer.compare(got, expected)).toBe(0);
      }
      // Physical memory agrees, and the end of RAM is a short read.
      const phys = await session.readPhysical(sim.layout.dataRegion.physicalBase + 0x10_0000n, 8192);
      expect(phys.data).toEqual(fillExpected(base, new Uint8Array(8192)));
      const tail = await session.readVirtual(sim.layout.dataRegion.virtualBase + sim.layout.dataRegion.size - 100n, 300);
      expect(tail.bytesRead).toBe(100);
      expect(tail.status).toBe(0xc0000001);
    });

    it('writes memory and reads it back', async () => {
      const at = sim.layout.dataRegion.virtualBase + 0x5_0000n + 3n;
      const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7 + 3) & 0xff);
      expect((await session.writeVirtual(at, data)).bytesWritten).toBe(data.length);
      const back = await session.readVirtual(at - 16n, data.length + 32);
      expect(back.data.subarray(16, 16 + data.length)).toEqual(data);
      expect(back.data.subarray(0, 16)).toEqual(fillExpected(at - 16n, new Uint8Array(16)));
      expect(back.data.subarray(16 + data.length)).toEqual(fillExpected(at + BigInt(data.length), new Uint8Array(16)));
    });

    it('sets a breakpoint, continues, hits it, restores it and single-steps', async () => {
      const at = sim.layout.idleLoopStart + 0x234n;
      const handle = await session.writeBreakpoint(at);
      expect(handle).toBeGreaterThan(0);
      expect((await session.readVirtual(at, 1)).data).toEqual(Uint8Array.of(0xcc));
      const hit = session.waitForStateChange();
      await session.continue();
      const stop = await hit;
      expect(stop).toMatchObject({ kind: 'exception', exceptionCode: 0x80000003, programCounter: at, exceptionAddress: at });
      expect((await session.getContext({ processor: stop.processor })).get('rip')).toBe(at);
      expect(await session.restoreBreakpoint(handle)).toBe(0);
      expect((await session.readVirtual(at, 1)).data).toEqual(Uint8Array.of(0x90));
      const step = await session.singleStep();
      expect(step).toMatchObject({ exceptionCode: 0x80000004, programCounter: at + 1n, processor: stop.processor });
    });

    it('receives DbgPrint while running and breaks in', async () => {
      const printed = firstValueFrom(session.events$.pipe(filter((e) => e.kind === 'print')));
      await session.continue();
      const print = await printed;
      expect(print.kind === 'print' && print.text).toMatch(/^vmkd-sim: Windows 7 SP1 x64 build 7601 alive/);
      const stop = await session.breakIn();
      expect(stop).toMatchObject({ exceptionCode: 0x80000003, programCounter: sim.layout.breakpointWithStatus, processor: 0 });
    });

    it('switches CPUs and reads each one’s context and control space', async () => {
      const other = await session.switchProcessor(1);
      expect(other.processor).toBe(1);
      expect(other.thread).toBe(sim.currentThread(1));
      const ctx1 = await session.getContext({ processor: 1 });
      expect(ctx1.get('rip')).toBe(sim.rip(1));
      expect(ctx1.get('rip')).toBe(other.programCounter);
      const ctx0 = await session.getContext({ processor: 0 });
      expect(ctx0.get('rip')).toBe(sim.layout.breakpointWithStatus);
      const special = await session.getSpecialRegisters(1);
      expect(special.msrGsBase).toBe(new DataView((await session.readControlSpace(1, 0n, 8)).data.buffer).getBigUint64(0, true));
      // Continue from CPU 1 and stop again: the target keeps going.
      await session.continue();
      expect(await session.breakIn()).toMatchObject({ exceptionCode: 0x80000003 });
    });
  });
}
