import { setTimeout as sleep } from 'node:timers/promises';
import { VmkdError, type DebuggerSession } from '@vmkd/kd-protocol';
import { fillExpected } from '@vmkd/sim-target';
import { walkToReady } from './cells/attach-ready.js';
import { prepareDebuggerSide, type BenchSession, type OpenedDebugger, type PreparedSide } from './cells/debugger-side.js';
import { prepareGdbSide } from './cells/gdb-endpoint.js';
import { checkFastPath } from './cells/memory-fast-path.js';
import { openBenchGuest, type BenchGuest } from './cells/opened-guest.js';
import { BenchErrorCode } from './errors.js';
import { childCpuSeconds, childPeakRss, startRssSampler } from './process-usage.js';
import type { AttachReady, CellResult, EndpointKind, GuestKind, Workload } from './result-types.js';
import { summarize } from './stats.js';

export interface CellSpec {
  readonly guest: GuestKind;
  readonly endpoint: EndpointKind;
  readonly workload: Workload;
  readonly description: string;
  /** The guest, by URI (a `sim://` one: the virtual kernel behind the transport measured). */
  readonly guestUri: string;
  /** The endpoint, by URI (`{tmp}` is a private directory); none for the debugger on the guest link. */
  readonly endpointUri: string | undefined;
  /** Per-request timeout for the debugger (paced serial needs more). */
  readonly timeoutMs: number;
  /** The guest's virtual kernel runs in this process: the bench makes it (and its clock). */
  readonly inProcessSim?: { readonly memorySize: number };
  /** The cell's id when guest/endpoint alone do not name it (a variant of a guest, e.g. `serial-unix+memory/routed-inproc`). */
  readonly id?: string;
  /** The guest has the memory fast path: the read must be served from its source (cells/memory-fast-path.ts). */
  readonly memoryFastPath?: boolean;
}

/** Which round of a cell this is: the once-per-cell workloads (steps, breakpoints, attach-to-ready) run in the first. */
export interface CellRound {
  readonly index: number;
}

/** Progress inside a cell: fraction 0 … 1 and what is being measured. */
export type CellProgress = (fraction: number, phase: string) => void;

/**
 * The read is issued in calls of this many bytes (each ~66 KD requests). Each call's rate is kept:
 * their median resists the bursts of other load a shared machine adds, the overall figure does not.
 */
const READ_CALL_BYTES = 256 * 1024;

export function cellId(guest: GuestKind, endpoint: EndpointKind): string {
  return `${guest}/${endpoint}`;
}

/**
 * Runs the workloads on one guest × endpoint combination: attach, GetVersion round trips, a memory
 * read verified against the sim's formula, break-ins. Time, CPU and RSS are taken around the
 * measured calls only; verification runs outside them.
 */
export async function runCell(spec: CellSpec, progress: CellProgress = () => undefined, round: CellRound = { index: 0 }): Promise<CellResult> {
  const id = spec.id ?? cellId(spec.guest, spec.endpoint);
  const base = { id, guest: spec.guest, endpoint: spec.endpoint, description: spec.description, workload: spec.workload };
  const started = performance.now();
  const rss = startRssSampler();
  let guest: BenchGuest | undefined;
  let side: PreparedSide | undefined;
  let debuggerSide: OpenedDebugger | undefined;
  let session: BenchSession | undefined;
  try {
    const w = spec.workload;
    progress(0, 'open');
    guest = await openBenchGuest(spec.guestUri, spec.inProcessSim === undefined ? {} : { inProcessSim: spec.inProcessSim });
    const bench = guest;
    side = spec.endpoint === 'routed-gdb' ? await prepareGdbSide(spec.endpointUri!, guest.link) : await prepareDebuggerSide(spec.endpointUri, guest.link);

    // ── attach: connect the debugger, RESET, the target's state change ──
    progress(0.02, 'attach');
    const a0 = performance.now();
    debuggerSide = await side.connect(spec.timeoutMs);
    session = debuggerSide.session;
    await session.attach({ timeoutMs: spec.timeoutMs * 2 });
    const attachMs = performance.now() - a0;

    // ── warm-up (untimed): compile the hot paths before anything is measured ──
    if (w.warmupBytes > 0) {
      for (let i = 0; i < 50; i++) await session.getVersion();
      await session.readVirtual(guest.dataBase, Math.min(w.warmupBytes, Number(guest.dataSize)));
    }

    // ── small-request latency ──
    const latencies: number[] = [];
    for (let i = 0; i < w.latencySamples; i++) {
      const t0 = performance.now();
      await session.getVersion();
      latencies.push(performance.now() - t0);
      if (i % 16 === 0) progress(0.05 + 0.15 * (i / w.latencySamples), 'latency');
    }

    // ── memory-read throughput, verified ──
    const callBytes = Math.min(READ_CALL_BYTES, w.readBytes);
    if (BigInt(w.readBytes) > guest.dataSize) {
      throw new VmkdError(BenchErrorCode.BadOption, `the read of ${w.readBytes} bytes is larger than the sim's data region`);
    }
    const buffer = new Uint8Array(callBytes);
    const expected = new Uint8Array(callBytes);
    let readNs = 0n;
    let cpuMicros = 0;
    const childCpu0 = guest.childPid === undefined ? undefined : childCpuSeconds(guest.childPid);
    const wire0 = guest.wireBytes();
    let verified = true;
    const chunkRates: number[] = [];
    // CPU is taken around the whole read (two getrusage calls, not two per call: the profile
    // showed per-call sampling in the event loop it measures); verification is synchronous, so its
    // wall time is its CPU time, and that is subtracted.
    let verifyNs = 0n;
    const c0 = process.cpuUsage();
    for (let offset = 0; offset < w.readBytes; offset += callBytes) {
      const n = Math.min(callBytes, w.readBytes - offset);
      const address = guest.dataBase + BigInt(offset);
      const target = buffer.subarray(0, n);
      const t0 = process.hrtime.bigint();
      const got = await session.readVirtualInto(address, target);
      const t1 = process.hrtime.bigint();
      readNs += t1 - t0;
      chunkRates.push(n / (Number(t1 - t0) / 1e9));
      if (got.bytesRead !== n) {
        throw new VmkdError(BenchErrorCode.VerifyFailed, `read ${got.bytesRead} of ${n} bytes at 0x${address.toString(16)} (status 0x${got.status.toString(16)})`);
      }
      fillExpected(address, expected.subarray(0, n));
      if (Buffer.compare(Buffer.from(target.buffer, target.byteOffset, n), Buffer.from(expected.buffer, 0, n)) !== 0) verified = false;
      progress(0.2 + 0.6 * ((offset + n) / w.readBytes), 'read');
      verifyNs += process.hrtime.bigint() - t1;
    }
    const cpu = process.cpuUsage(c0);
    cpuMicros = Math.max(0, cpu.user + cpu.system - Number(verifyNs) / 1000);
    const wireBytes = guest.wireBytes() - wire0;
    const childCpu = guest.childPid === undefined || childCpu0 === undefined ? 0 : (childCpuSeconds(guest.childPid) ?? childCpu0) - childCpu0;
    const readSeconds = Number(readNs) / 1e9;
    if (!verified) throw new VmkdError(BenchErrorCode.VerifyFailed, 'memory read back differs from the sim formula');
    const fastPath = spec.memoryFastPath === true ? checkFastPath(guest.opened, w.readBytes) : undefined;

    // ── break-in latency: run, let it settle, break in ──
    const breakins: number[] = [];
    for (let i = 0; i < w.breakinSamples; i++) {
      await session.continue();
      await sleep(20);
      const t0 = performance.now();
      await session.breakIn({ timeoutMs: spec.timeoutMs * 2 });
      breakins.push(performance.now() - t0);
      progress(0.8 + 0.18 * ((i + 1) / w.breakinSamples), 'break-in');
    }

    // ── once per cell: single steps, breakpoint round trips, attach-to-ready ──
    // (KD debuggers only: the gdb endpoint cell's RSP client measures reads, latency and break-in.)
    const kd = kdSession(session);
    const once = round.index === 0 && kd !== undefined;
    let stepsPerSecond: number | undefined;
    if (once && w.steps > 0) {
      progress(0.9, 'steps');
      // The virtual CPU steps on its clock's next turn: eager (no 1 ms timer) where it runs here.
      if (bench.clock !== undefined) bench.clock.eager = true;
      try {
        const t0 = performance.now();
        for (let i = 0; i < w.steps; i++) await kd.singleStep({ timeoutMs: spec.timeoutMs });
        stepsPerSecond = w.steps / ((performance.now() - t0) / 1000);
      } finally {
        if (bench.clock !== undefined) bench.clock.eager = false;
      }
    }
    const breakpoints: number[] = [];
    if (once && w.breakpointSamples > 0) {
      progress(0.93, 'breakpoints');
      const address = await idleLoopAddress(kd);
      const eager = bench.clock;
      if (eager !== undefined) eager.eager = true;
      try {
        let handle = await kd.writeBreakpoint(address);
        for (let i = 0; i < w.breakpointSamples; i++) {
          const t0 = performance.now();
          await kd.continue();
          const hit = await kd.waitForStateChange(spec.timeoutMs * 2);
          breakpoints.push(performance.now() - t0);
          if (hit.programCounter !== address) throw new Error(`breakpoint round trip: stopped at 0x${hit.programCounter.toString(16)}, not at the breakpoint 0x${address.toString(16)}`);
          // Step over it as a debugger does (untimed): lift it, one step, plant it again.
          await kd.restoreBreakpoint(handle);
          await kd.singleStep({ timeoutMs: spec.timeoutMs });
          handle = await kd.writeBreakpoint(address);
        }
        await kd.restoreBreakpoint(handle);
      } finally {
        if (eager !== undefined) eager.eager = false;
      }
    }
    let attachReady: AttachReady | undefined;
    if (once && w.readyRuns > 0) {
      progress(0.96, 'attach-to-ready');
      const runs: number[] = [];
      let walk = { modules: 0, pdbs: 0, requests: 0 };
      for (let i = 0; i < w.readyRuns; i++) {
        // A fresh debugger each time: connect, attach, then everything before symbols load.
        await session.close();
        await debuggerSide.close();
        const t0 = performance.now();
        debuggerSide = await side.connect(spec.timeoutMs);
        session = debuggerSide.session;
        await session.attach({ timeoutMs: spec.timeoutMs * 2 });
        const fresh = kdSession(session);
        if (fresh === undefined) throw new Error('attach-to-ready: the reconnected debugger is not a KD session');
        walk = await walkToReady(fresh);
        runs.push(performance.now() - t0);
      }
      attachReady = { ms: summarize(runs).p50, runs, ...walk };
    }

    const peakSelf = rss.stop();
    const peakChild = guest.childPid === undefined ? 0 : (childPeakRss(guest.childPid) ?? 0);
    const latency = summarize(latencies);
    return {
      ...base,
      status: 'ok',
      attachMs,
      latencyMs: { ...latency, samples: latencies },
      readBytesPerSecond: w.readBytes / readSeconds,
      readRate: { ...summarize(chunkRates), samples: chunkRates },
      rounds: 1,
      roundTripsPerSecond: Math.ceil(w.readBytes / 3944) / readSeconds,
      readSeconds,
      verified,
      wireBytes,
      breakinMs: { ...summarize(breakins), samples: breakins },
      cpuSecondsPerMiB: (cpuMicros / 1e6 + childCpu) / (w.readBytes / 1048576),
      peakRssBytes: peakSelf + peakChild,
      roundRates: [w.readBytes / readSeconds],
      roundLatencyP50Ms: [latency.p50],
      ...(stepsPerSecond === undefined ? {} : { stepsPerSecond }),
      ...(breakpoints.length === 0 ? {} : { breakpointMs: { ...summarize(breakpoints), samples: breakpoints } }),
      ...(attachReady === undefined ? {} : { attachReady }),
      ...(fastPath === undefined ? {} : { fastPath }),
      ...(guest.simTickMs === undefined ? {} : { simTickMs: guest.simTickMs }),
      elapsedMs: performance.now() - started,
    };
  } catch (error) {
    rss.stop();
    const reason = error instanceof VmkdError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    return { ...base, status: 'failed', reason, elapsedMs: performance.now() - started };
  } finally {
    progress(1, 'close');
    await session?.close().catch(() => undefined);
    await debuggerSide?.close().catch(() => undefined);
    await side?.close().catch(() => undefined);
    await guest?.close().catch(() => undefined);
  }
}

/** The session as vmkd's KD DebuggerSession, when it is one (the gdb cell's RSP client is not). */
function kdSession(session: BenchSession): DebuggerSession | undefined {
  const s = session as Partial<DebuggerSession>;
  return typeof s.singleStep === 'function' && typeof s.writeBreakpoint === 'function' && typeof s.waitForStateChange === 'function' ? (session as DebuggerSession) : undefined;
}

/**
 * An address in the virtual kernel's idle loop that every pass executes: its `inc qword [rip+…]`
 * (48 FF 05) on nt's idle counter, found by reading the code page the target stopped in (the idle
 * loop follows DbgBreakPointWithStatus on the same page), as one would with `s` in WinDbg.
 */
async function idleLoopAddress(session: DebuggerSession): Promise<bigint> {
  const stop = await session.breakIn();
  const page = stop.programCounter & ~0xfffn;
  const code = (await session.readVirtual(page, 4096)).data;
  for (let i = 0; i + 3 <= code.length; i++) {
    if (code[i] === 0x48 && code[i + 1] === 0xff && code[i + 2] === 0x05) return page + BigInt(i);
  }
  throw new Error(`breakpoint round trip: no idle-loop instruction on the page at 0x${page.toString(16)}`);
}

/**
 * One result from several rounds of the same cell: samples pooled (latency, read-call rates,
 * break-ins), totals summed, attach time the median, peak RSS the highest. A failed round fails
 * the cell (its reason is kept).
 */
export function mergeRounds(rounds: readonly CellResult[]): CellResult {
  const first = rounds[0];
  if (first === undefined) throw new RangeError('no rounds to merge');
  if (rounds.length === 1) return first;
  const failed = rounds.find((r) => r.status !== 'ok');
  const elapsedMs = rounds.reduce((t, r) => t + r.elapsedMs, 0);
  if (failed !== undefined) return { ...failed, elapsedMs, rounds: rounds.length };
  const pool = (pick: (r: CellResult) => readonly number[] | undefined): number[] => rounds.flatMap((r) => [...(pick(r) ?? [])]);
  const sum = (pick: (r: CellResult) => number | undefined): number => rounds.reduce((t, r) => t + (pick(r) ?? 0), 0);
  const latencies = pool((r) => r.latencyMs?.samples);
  const rates = pool((r) => r.readRate?.samples);
  const breakins = pool((r) => r.breakinMs?.samples);
  const readBytes = first.workload.readBytes * rounds.length;
  const readSeconds = sum((r) => r.readSeconds);
  const cpuSeconds = sum((r) => (r.cpuSecondsPerMiB ?? 0) * (r.workload.readBytes / 1048576));
  return {
    ...first,
    workload: { ...first.workload, readBytes, latencySamples: first.workload.latencySamples * rounds.length, breakinSamples: first.workload.breakinSamples * rounds.length },
    rounds: rounds.length,
    attachMs: summarize(rounds.map((r) => r.attachMs ?? Number.NaN)).p50,
    latencyMs: { ...summarize(latencies), samples: latencies },
    readRate: { ...summarize(rates), samples: rates },
    readBytesPerSecond: readBytes / readSeconds,
    roundTripsPerSecond: Math.ceil(readBytes / 3944) / readSeconds,
    readSeconds,
    verified: rounds.every((r) => r.verified === true),
    wireBytes: sum((r) => r.wireBytes),
    breakinMs: { ...summarize(breakins), samples: breakins },
    cpuSecondsPerMiB: cpuSeconds / (readBytes / 1048576),
    peakRssBytes: Math.max(...rounds.map((r) => r.peakRssBytes ?? 0)),
    roundRates: rounds.flatMap((r) => [...(r.roundRates ?? [])]),
    roundLatencyP50Ms: rounds.flatMap((r) => [...(r.roundLatencyP50Ms ?? [])]),
    elapsedMs,
  };
}
