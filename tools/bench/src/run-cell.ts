import { setTimeout as sleep } from 'node:timers/promises';
import { VmkdError } from '@vmkd/kd-protocol';
import { fillExpected } from '@vmkd/sim-target';
import { prepareDebuggerSide, type BenchSession, type OpenedDebugger, type PreparedSide } from './cells/debugger-side.js';
import { prepareGdbSide } from './cells/gdb-endpoint.js';
import { checkFastPath } from './cells/memory-fast-path.js';
import { openBenchGuest, type BenchGuest } from './cells/opened-guest.js';
import { BenchErrorCode } from './errors.js';
import { childCpuSeconds, childPeakRss, startRssSampler } from './process-usage.js';
import type { CellResult, EndpointKind, GuestKind, Workload } from './result-types.js';
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
  /** The cell's id when guest/endpoint alone do not name it (a variant of a guest, e.g. `serial-unix+memory/routed-inproc`). */
  readonly id?: string;
  /** The guest has the memory fast path: the read must be served from its source (cells/memory-fast-path.ts). */
  readonly memoryFastPath?: boolean;
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
export async function runCell(spec: CellSpec, progress: CellProgress = () => undefined): Promise<CellResult> {
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
    guest = await openBenchGuest(spec.guestUri);
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
    for (let offset = 0; offset < w.readBytes; offset += callBytes) {
      const n = Math.min(callBytes, w.readBytes - offset);
      const address = guest.dataBase + BigInt(offset);
      const target = buffer.subarray(0, n);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const got = await session.readVirtualInto(address, target);
      const ns = process.hrtime.bigint() - t0;
      readNs += ns;
      chunkRates.push(n / (Number(ns) / 1e9));
      const c = process.cpuUsage(c0);
      cpuMicros += c.user + c.system;
      if (got.bytesRead !== n) {
        throw new VmkdError(BenchErrorCode.VerifyFailed, `read ${got.bytesRead} of ${n} bytes at 0x${address.toString(16)} (status 0x${got.status.toString(16)})`);
      }
      fillExpected(address, expected.subarray(0, n));
      if (Buffer.compare(Buffer.from(target.buffer, target.byteOffset, n), Buffer.from(expected.buffer, 0, n)) !== 0) verified = false;
      progress(0.2 + 0.6 * ((offset + n) / w.readBytes), 'read');
    }
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
      ...(fastPath === undefined ? {} : { fastPath }),
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
    elapsedMs,
  };
}
