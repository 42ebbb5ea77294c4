import { VmkdError } from '@vmkd/kd-protocol';
import { BenchErrorCode } from './errors.js';
import { formatCellLine } from './format-table.js';
import { currentLoad, describeMachine } from './machine.js';
import { planMatrix, type PlannedCell } from './matrix.js';
import { createProgressBar, type ProgressStream } from './progress.js';
import { measureRawLimit, READ_PATTERN } from './raw-limit.js';
import { limitRate, type BenchResult, type CellResult, type RawLimitResult } from './result-types.js';
import { summarize } from './stats.js';
import { formatRate } from './format-units.js';
import { mergeRounds, runCell } from './run-cell.js';
import { computeTargets } from './targets.js';
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
}

/**
 * Runs the transport benchmark: the raw same-pattern socket limits, then every cell of the matrix
 * (guest transports × endpoints, direct and routed), then the derived targets. Writes the outputs
 * when `outDir` is given. Failed cells are reported in the result, not thrown.
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const quick = options.quick ?? false;
  if (options.readMiB !== undefined && !(Number.isInteger(options.readMiB) && options.readMiB >= 1 && options.readMiB <= 1024)) {
    throw new VmkdError(BenchErrorCode.BadOption, `readMiB must be an integer 1 … 1024, not ${options.readMiB}`, { details: { readMiB: options.readMiB } });
  }
  const cells: PlannedCell[] = planMatrix({ quick, ...(options.readMiB === undefined ? {} : { readMiB: options.readMiB }), ...(options.only ? { only: options.only } : {}) });
  if (options.only !== undefined && cells.length === 0) {
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
  const limitWeight = options.skipLimits ? 0 : limitKinds.length * 2 * (0.2 + limitTrips / 10_000) + 2;
  const total = limitWeight + cells.reduce((sum, c) => sum + (c.skip === undefined ? c.weight * c.rounds : 0), 0);
  let doneWeight = 0;

  // The limits are measured before and after the cells and pooled, as the cells run in rounds.
  const limitPasses: RawLimitResult[][] = [[], []];
  const measureLimits = async (pass: RawLimitResult[], warm: boolean): Promise<void> => {
    if (options.skipLimits) return;
    for (const { socket, replier } of limitKinds) {
      bar?.update(doneWeight / total, `raw-${socket}${replier === 'child' ? '-2proc' : ''} limit`);
      // A short untimed pass first, as the cells warm up too (on the same connection for a child,
      // whose hot paths are compiled afresh each time it starts).
      if (warm && replier === 'in-process') await measureRawLimit({ socket, roundTrips: 200 });
      pass.push(await measureRawLimit({ socket, replier, roundTrips: limitTrips, ...(replier === 'child' ? { warmupRoundTrips: 200 } : {}) }));
      doneWeight += limitWeight / (limitKinds.length * 2);
    }
  };
  await measureLimits(limitPasses[0], true);

  const rounds = new Map<PlannedCell, CellResult[]>(cells.map((c) => [c, []]));
  const maxRounds = Math.max(1, ...cells.map((c) => c.rounds));
  for (let round = 0; round < maxRounds; round++) {
    for (const cell of cells) {
      if (cell.skip !== undefined || round >= cell.rounds) continue;
      const before = doneWeight;
      const label = `${cell.id ?? `${cell.guest}/${cell.endpoint}`}${cell.rounds > 1 ? ` (${round + 1}/${cell.rounds})` : ''}`;
      const result = await runCell(cell, (fraction, phase) => bar?.update((before + fraction * cell.weight) / total, `${label} ${phase}`));
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
  await measureLimits(limitPasses[1], false);
  const limits = (limitPasses[0]).map((a, i) => mergeLimits(a, (limitPasses[1])[i]));
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
    targets: computeTargets(results, limits),
  };
  if (options.outDir !== undefined) await writeBenchOutputs(result, options.outDir);
  return result;
}

function mergeLimits(a: RawLimitResult, b: RawLimitResult | undefined): RawLimitResult {
  if (b === undefined) return a;
  const rates = [...a.payloadRate.samples, ...b.payloadRate.samples];
  const trips = a.roundTrips + b.roundTrips;
  const seconds = a.roundTrips / a.roundTripsPerSecond + b.roundTrips / b.roundTripsPerSecond;
  return {
    ...a,
    roundTrips: trips,
    roundTripsPerSecond: trips / seconds,
    payloadBytesPerSecond: (trips * READ_PATTERN.payload) / seconds,
    payloadRate: { ...summarize(rates), samples: rates },
    cpuSecondsPerMiB: (a.cpuSecondsPerMiB * a.roundTrips + b.cpuSecondsPerMiB * b.roundTrips) / trips,
  };
}
