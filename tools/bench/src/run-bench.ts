import { VmkdError } from '@vmkd/kd-protocol';
import { BenchErrorCode } from './errors.js';
import { formatCellLine } from './format-table.js';
import { currentLoad, describeMachine } from './machine.js';
import { planMatrix, type PlannedCell } from './matrix.js';
import { createProgressBar, type ProgressStream } from './progress.js';
import { measureRawLimit, READ_PATTERN } from './raw-limit.js';
import { EXTRA_CELLS } from './cells/extra-cells.js';
import { runFullDump, type DumpShape } from './cells/full-dump.js';
import { runLineFaultRecovery } from './cells/line-fault-recovery.js';
import { runRadare2Dump } from './cells/radare2-dump.js';
import { GUEST_URIS } from './matrix.js';
import { limitRate, type BenchResult, type CellResult, type DumpResult, type ExtraCellResult, type Radare2Result, type RawLimitResult, type RecoveryResult } from './result-types.js';
import { summarize } from './stats.js';
import { formatRate } from './format-units.js';
import { mergeRounds, runCell } from './run-cell.js';
import { computeHeadline, computeTargets } from './targets.js';
import { writeBenchOutputs } from './write-outputs.js';

export interface BenchOptions {
  /** The small matrix and workloads: under a minute on a 2-core machine. */
  readonly quick?: boolean;
  /** Write `results.json`, `results.md` and the SVG charts here. */
  readonly outDir?: string;
  /** Progress bar and per-cell lines (default `process.stderr`; `false` for none). */
  readonly progress?: ProgressStream | false;
  /** Run only cells whose id (`serial-unix/direct`), guest kind or endpoint kind is listed. */
  readonly only?: readonly string[];
  /** MiB read by the unpaced cells (default 4 quick, 32 full); the native cell reads a quarter. */
  readonly readMiB?: number;
  /** Skip the raw socket limits. */
  readonly skipLimits?: boolean;
  /** The command line recorded with the results (default: this process's argv). */
  readonly command?: string;
  /** MiB of guest-physical memory each full dump reads (default 16 quick, 1024 full). */
  readonly dumpMiB?: number;
  /** Reads of the line-fault recovery workload (default 100 quick, 1,000 full). */
  readonly recoveryReads?: number;
}

/** The workloads that run once per run (not per cell), selectable with `only` like cells. */
export const RUN_WORKLOADS = ['dump', 'recovery', 'radare2'] as const;

/**
 * Runs the transport benchmark: the raw same-pattern socket limits, then every cell of the matrix
 * (guest transports × endpoints, direct and routed), then the derived targets. Writes the outputs
 * when `outDir` is given. Failed cells are reported in the result, not thrown.
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  // The protocol timers (kd-protocol's systemClock) are unref'd so that a finished link never holds
  // a process open. An in-memory cell (the emulated VMX, direct or routed in-process) has no socket
  // either, so while its guest waits on such a timer the event loop had nothing to keep it alive and
  // Node ended the run mid-cell (exit 13, unsettled top-level await). A run holds the process itself.
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    return await runBenchHeld(options);
  } finally {
    clearInterval(keepAlive);
  }
}

async function runBenchHeld(options: BenchOptions): Promise<BenchResult> {
  const quick = options.quick ?? false;
  if (options.readMiB !== undefined && !(Number.isInteger(options.readMiB) && options.readMiB >= 1 && options.readMiB <= 1024)) {
    throw new VmkdError(BenchErrorCode.BadOption, `readMiB must be an integer 1 … 1024, not ${options.readMiB}`, { details: { readMiB: options.readMiB } });
  }
  const cells: PlannedCell[] = planMatrix({ quick, ...(options.readMiB === undefined ? {} : { readMiB: options.readMiB }), ...(options.only ? { only: options.only } : {}) });
  const wanted = (id: string): boolean => options.only === undefined || options.only.includes(id);
  const workloads = RUN_WORKLOADS.filter(wanted);
  const extras = EXTRA_CELLS.filter((c) => wanted(c.id));
  if (options.only !== undefined && cells.length === 0 && workloads.length === 0 && extras.length === 0) {
    throw new VmkdError(BenchErrorCode.BadOption, `no cell matches ${options.only.join(', ')}`, { details: { only: options.only } });
  }
  const stream = options.progress === undefined ? process.stderr : options.progress;
  const bar = stream === false ? undefined : createProgressBar(stream);
  const date = new Date().toISOString();
  const loadAtStart = currentLoad();
  const started = performance.now();

  const fastBytes = (options.readMiB ?? (quick ? 4 : 32)) * 1024 * 1024;
  const limitTrips = Math.ceil(fastBytes / READ_PATTERN.payload);
  // Three limits (Unix socket, loopback TCP, Unix socket to a child), each measured twice.
  const limitKinds = [
    { socket: 'unix', replier: 'in-process' },
    { socket: 'tcp', replier: 'in-process' },
    { socket: 'unix', replier: 'child' },
  ] as const;
  const limitWeight = options.skipLimits || cells.length === 0 ? 0 : Math.max(1, ...cells.map((c) => c.rounds)) * limitKinds.length * (0.2 + limitTrips / 10_000) + 2;
  const dumpMiB = options.dumpMiB ?? (quick ? 16 : 1024);
  const recoveryReads = options.recoveryReads ?? (quick ? 100 : 1000);
  const workloadWeight =
    (workloads.includes('dump') ? DUMP_SHAPES.length * (2 + dumpMiB / 15) : 0) +
    (workloads.includes('recovery') ? 2 + recoveryReads / 50 : 0) +
    (workloads.includes('radare2') ? 8 : 0) +
    extras.reduce((t, c) => t + c.weight(quick), 0);
  const total = workloadWeight + limitWeight + cells.reduce((sum, c) => sum + (c.skip === undefined ? c.weight * c.rounds : 0), 0);
  let doneWeight = 0;

  // The limits are measured in every round, just before that round's cells, so that each ratio to
  // a limit pairs figures taken minutes apart at most, under the same outside load.
  const maxRounds = Math.max(1, ...cells.map((c) => c.rounds));
  const limitPasses: RawLimitResult[][] = [];
  const measureLimits = async (round: number): Promise<void> => {
    if (options.skipLimits || cells.length === 0) return;
    const pass: RawLimitResult[] = [];
    for (const { socket, replier } of limitKinds) {
      bar?.update(doneWeight / total, `raw-${socket}${replier === 'child' ? '-2proc' : ''} limit (${round + 1}/${maxRounds})`);
      // A short untimed pass first, as the cells warm up too (on the same connection for a child,
      // whose hot paths are compiled afresh each time it starts).
      if (replier === 'in-process') await measureRawLimit({ socket, roundTrips: 200 });
      pass.push(await measureRawLimit({ socket, replier, roundTrips: limitTrips, ...(replier === 'child' ? { warmupRoundTrips: 200 } : {}) }));
      doneWeight += limitWeight / (limitKinds.length * maxRounds);
    }
    limitPasses.push(pass);
  };

  const rounds = new Map<PlannedCell, CellResult[]>(cells.map((c) => [c, []]));
  for (let round = 0; round < maxRounds; round++) {
    await measureLimits(round);
    for (const cell of cells) {
      if (cell.skip !== undefined || round >= cell.rounds) continue;
      const before = doneWeight;
      const label = `${cell.id ?? `${cell.guest}/${cell.endpoint}`}${cell.rounds > 1 ? ` (${round + 1}/${cell.rounds})` : ''}`;
      const result = await runCell(cell, (fraction, phase) => bar?.update((before + fraction * cell.weight) / total, `${label} ${phase}`), { index: round });
      doneWeight += cell.weight;
      rounds.get(cell)?.push(result);
      if (round === cell.rounds - 1) bar?.log(formatCellLine(mergeRounds(rounds.get(cell) ?? [result])));
    }
  }
  const results: CellResult[] = cells.map((cell) => {
    if (cell.skip !== undefined) {
      const skipped: CellResult = {
        id: cell.id ?? `${cell.guest}/${cell.endpoint}`,
        guest: cell.guest,
        endpoint: cell.endpoint,
        description: cell.description,
        workload: cell.workload,
        status: 'skipped',
        reason: cell.skip,
        elapsedMs: 0,
      };
      bar?.log(formatCellLine(skipped));
      return skipped;
    }
    return mergeRounds(rounds.get(cell) ?? []);
  });
  // ── once per run: full dumps, recovery under line faults, radare2, other packages' cells ──
  const step = (weight: number, label: string) => {
    const before = doneWeight;
    doneWeight += weight;
    return (fraction: number): void => bar?.update((before + fraction * weight) / total, label);
  };
  const dumps: DumpResult[] = [];
  if (workloads.includes('dump')) {
    for (const shape of DUMP_SHAPES) {
      const d = await runFullDump(shape, { bytes: dumpMiB * 1024 * 1024, progress: step(2 + dumpMiB / 15, `dump ${shape.id}`) });
      bar?.log(`dump ${shape.id.padEnd(23)} ${formatRate(d.bytesPerSecond).padStart(12)}  ${d.status === 'ok' ? 'verified' : `${d.status.toUpperCase()}: ${d.reason ?? ''}`}`);
      dumps.push(d);
    }
  }
  const recovery: RecoveryResult[] = [];
  if (workloads.includes('recovery')) {
    for (const r of await runLineFaultRecovery({ reads: recoveryReads, progress: step(2 + recoveryReads / 50, 'recovery under line faults') })) {
      bar?.log(`recovery ${r.id}: ${r.status === 'ok' ? `${(r.perFaultMs ?? Number.NaN).toFixed(2)} ms per fault, ${r.intactReads}/${r.reads} intact` : `${r.status.toUpperCase()}: ${r.reason ?? ''}`}`);
      recovery.push(r);
    }
  }
  const radare2: Radare2Result[] = [];
  if (workloads.includes('radare2')) {
    step(8, 'radare2')(0);
    const r = await runRadare2Dump(GUEST_URIS['kdrpc-vmx'], 4 * 1024 * 1024, 'kdrpc-vmx/routed-unix');
    bar?.log(`radare2 ${r.status === 'ok' ? `${formatRate(r.radare2BytesPerSecond)} beside vmkd ${formatRate(r.vmkdBytesPerSecond)}` : `${r.status}: ${r.reason ?? ''}`}`);
    radare2.push(r);
  }
  const extra: ExtraCellResult[] = [];
  for (const cell of extras) {
    const r = await cell.run({ quick, progress: step(cell.weight(quick), cell.id) });
    bar?.log(`${cell.id.padEnd(28)} ${r.status}`);
    extra.push(r);
  }

  const limits = limitPasses.length === 0 ? [] : (limitPasses[0] ?? []).map((_, i) => mergeLimits(limitPasses.map((pass) => pass[i]).filter((l) => l !== undefined)));
  for (const limit of limits) {
    bar?.log(`${limit.id.padEnd(28)} ${formatRate(limitRate(limit)).padStart(12)}  (limit: the read pattern, no protocol work)`);
  }
  bar?.update(1, 'done');
  bar?.done();

  const result: BenchResult = {
    schema: 'vmkd-bench/1',
    date,
    mode: quick ? 'quick' : 'full',
    command: options.command ?? ['node', ...process.argv.slice(1)].join(' '),
    machine: describeMachine(loadAtStart),
    durationMs: performance.now() - started,
    cells: results,
    limits,
    targets: computeTargets(results, limits, dumps, recovery),
    headline: computeHeadline(results),
    ...(dumps.length === 0 ? {} : { dumps }),
    ...(recovery.length === 0 ? {} : { recovery }),
    ...(radare2.length === 0 ? {} : { radare2 }),
    ...(extra.length === 0 ? {} : { extra }),
  };
  if (options.outDir !== undefined) await writeBenchOutputs(result, options.outDir);
  return result;
}

/** The full dump's shapes: the deployable route (KDCOM endpoint on a Unix socket) in a process of its own. */
const DUMP_SIM = 'build=win7&memory={memory}&cpus=1&prints=0';
export const DUMP_SHAPES: readonly DumpShape[] = [
  { id: 'serial-unix-2proc/routed-unix', description: 'virtual kernel in its own process on an unpaced serial line (Unix socket) → route process → KDCOM endpoint (Unix socket) → debugger', guestUri: `sim://?via=serial&line=unix&baud=0&process=child&${DUMP_SIM}` },
  { id: 'kdrpc-vmx/routed-unix', description: 'virtual kernel behind KDRPC (emulated VMX) inside the route process → KDCOM endpoint (Unix socket) → debugger', guestUri: `sim://?via=kdrpc&${DUMP_SIM}` },
  { id: 'kdnet/routed-unix', description: 'virtual kernel behind KDNET (loopback UDP) inside the route process → KDCOM endpoint (Unix socket) → debugger', guestUri: `sim://?via=kdnet&${DUMP_SIM}` },
];

/** One limit from its per-round measurements: round trips pooled, each round's overall rate kept for the spread. */
function mergeLimits(passes: readonly RawLimitResult[]): RawLimitResult {
  const first = passes[0];
  if (first === undefined) throw new RangeError('no limit measurements to merge');
  const rates = passes.flatMap((p) => [...p.payloadRate.samples]);
  const trips = passes.reduce((t, p) => t + p.roundTrips, 0);
  const seconds = passes.reduce((t, p) => t + p.roundTrips / p.roundTripsPerSecond, 0);
  return {
    ...first,
    roundTrips: trips,
    roundTripsPerSecond: trips / seconds,
    payloadBytesPerSecond: (trips * READ_PATTERN.payload) / seconds,
    payloadRate: { ...summarize(rates), samples: rates },
    cpuSecondsPerMiB: passes.reduce((t, p) => t + p.cpuSecondsPerMiB * p.roundTrips, 0) / trips,
    roundRates: passes.map((p) => p.payloadBytesPerSecond),
  };
}
