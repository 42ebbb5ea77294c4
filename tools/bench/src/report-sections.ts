import { formatBytes, formatCount, formatMs, formatRate, formatRateRange, formatTargetValue, formatWithRange } from './format-units.js';
import { READ_PATTERN } from './read-pattern.js';
import type { BenchResult, TargetCheck } from './result-types.js';

/** A table every view renders its own way (terminal, Markdown). */
export interface ReportTable {
  readonly title: string;
  readonly headers: readonly string[];
  readonly aligns: readonly ('left' | 'right')[];
  readonly rows: readonly (readonly string[])[];
  /** Lines after the table. */
  readonly notes?: readonly string[];
}

export function targetVerdict(t: TargetCheck): string {
  return t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'MISS';
}

export function targetGoal(t: TargetCheck): string {
  return `${t.direction === 'at-most' ? '≤' : '≥'} ${formatTargetValue(t.goal, t.unit)}`;
}

export function targetMeasured(t: TargetCheck): string {
  return formatWithRange(t.value, t.range, t.unit);
}

/** The headline: the deployable shape's overall rate with its range, and paced serial beside it. */
export function headlineLines(result: BenchResult): string[] {
  const h = result.headline;
  if (h === undefined || h.bytesPerSecond === undefined) return [];
  const acc = h.acceleration === undefined ? '' : `, ${formatCount(h.acceleration)}× paced serial (${formatRate(h.pacedBytesPerSecond)}, ${h.pacedCell})`;
  return [
    `Deployable shape (${h.cell}: guest → router → KDCOM endpoint on a Unix socket → debugger): ${formatRateRange(h.bytesPerSecond, h.range)} overall (bytes ÷ wall time${h.range === undefined ? '' : `, range of ${h.range.n} rounds`})${acc}.`,
  ];
}

/** VirtualKD's published cost of one GuestRPC call (µs), per hypervisor. */
export const VM_EXIT_COST_US = [
  { hypervisor: 'VMware', perRpcUs: 72 },
  { hypervisor: 'VirtualBox', perRpcUs: 16 },
] as const;
/** GuestRPC calls one KD read takes over KDRPC (the guest's request fetch and its reply). */
export const RPCS_PER_READ = 2;

/**
 * A labelled estimate, not a measurement: the deployable accelerated cell's time per read plus
 * VirtualKD's published per-call VM-exit cost for the two calls of each read.
 */
export function vmExitEstimate(result: BenchResult): ReportTable | undefined {
  const h = result.headline;
  if (h?.bytesPerSecond === undefined) return undefined;
  const perRead = READ_PATTERN.payload / h.bytesPerSecond;
  const rows = VM_EXIT_COST_US.map(({ hypervisor, perRpcUs }) => {
    const t = perRead + (RPCS_PER_READ * perRpcUs) / 1e6;
    const rate = READ_PATTERN.payload / t;
    return [hypervisor, `${perRpcUs} µs`, `${(t * 1e6).toFixed(1)} µs`, formatRate(rate), h.pacedBytesPerSecond === undefined ? '–' : `${formatCount(rate / h.pacedBytesPerSecond)}×`];
  });
  return {
    title: 'VM-exit model (an ESTIMATE, not a measurement)',
    headers: ['hypervisor', 'per call (VirtualKD)', `per read: measured + ${RPCS_PER_READ} calls`, 'estimated rate', '÷ paced serial'],
    aligns: ['left', 'right', 'right', 'right', 'right'],
    rows: [['none (emulated VMX, measured)', '0 µs', `${(perRead * 1e6).toFixed(1)} µs`, formatRate(h.bytesPerSecond), h.acceleration === undefined ? '–' : `${formatCount(h.acceleration)}×`], ...rows],
    notes: [`From ${h.cell}'s overall rate; the emulated VMX has no VM-exit cost, so the published per-call costs are added for the ${RPCS_PER_READ} GuestRPC calls of each read.`],
  };
}

/** The raw same-pattern limits with the spread of their per-round measurements. */
export function limitsTable(result: BenchResult): ReportTable | undefined {
  if (result.limits.length === 0) return undefined;
  return {
    title: 'Raw same-pattern limit (no protocol work), measured in every round before its cells',
    headers: ['socket', 'round trips/s', 'payload overall (round range)', 'CPU s/MiB'],
    aligns: ['left', 'right', 'right', 'right'],
    rows: result.limits.map((l) => {
      const r = l.roundRates ?? [];
      const range = r.length > 1 ? { min: Math.min(...r), max: Math.max(...r) } : undefined;
      return [l.id, formatCount(l.roundTripsPerSecond), formatRateRange(l.payloadBytesPerSecond, range), l.cpuSecondsPerMiB.toFixed(3)];
    }),
  };
}

export function targetsTable(result: BenchResult, withSource: boolean): ReportTable {
  return {
    title: 'Targets (median of the per-round figures, range in brackets)',
    headers: withSource ? ['verdict', 'target', 'measured', 'goal', 'from'] : ['verdict', 'measured', 'goal', 'target'],
    aligns: withSource ? ['left', 'left', 'right', 'right', 'left'] : ['left', 'right', 'right', 'left'],
    rows: result.targets.map((t) => (withSource ? [targetVerdict(t), t.title, targetMeasured(t), targetGoal(t), t.detail] : [targetVerdict(t), targetMeasured(t), targetGoal(t), t.title])),
  };
}

/** What debuggers feel: single steps, breakpoint round trips, attach-to-ready, per cell. */
export function debuggerWorkloadsTable(result: BenchResult): ReportTable | undefined {
  const cells = result.cells.filter((c) => c.status === 'ok' && (c.stepsPerSecond !== undefined || c.breakpointMs !== undefined || c.attachReady !== undefined));
  if (cells.length === 0) return undefined;
  return {
    title: 'Debugger workloads (single steps, breakpoint round trips, attach to ready)',
    headers: ['cell', 'steps', 'steps/s', 'bp p50', 'bp p99', 'attach→ready', 'modules', 'PDBs', 'requests'],
    aligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: cells.map((c) => [
      c.id,
      formatCount(c.workload.steps),
      formatCount(c.stepsPerSecond),
      formatMs(c.breakpointMs?.p50),
      formatMs(c.breakpointMs?.p99),
      formatMs(c.attachReady?.ms),
      formatCount(c.attachReady?.modules),
      formatCount(c.attachReady?.pdbs),
      formatCount(c.attachReady?.requests),
    ]),
    notes: [
      'bp = continue → breakpoint hit → state change at the debugger (the step over the breakpoint before each is not timed). In-process guests run the virtual CPU on an eager clock while timing it; guests in a child process wait up to one 10 ms tick (see simTickMs in the JSON).',
      'attach→ready = connect, attach, GetVersion, KDDEBUGGER_DATA64, PsLoadedModuleList walk, every module’s DOS/NT headers and debug directory with its CodeView (RSDS) record.',
    ],
  };
}

export function dumpsTable(result: BenchResult): ReportTable | undefined {
  const dumps = result.dumps ?? [];
  if (dumps.length === 0) return undefined;
  return {
    title: 'Full dump of guest-physical memory through a route, peak RSS of every vmkd process',
    headers: ['shape', 'bytes', 'time', 'rate', 'verified', 'peak RSS per process'],
    aligns: ['left', 'right', 'right', 'right', 'left', 'left'],
    rows: dumps.map((d) =>
      d.status !== 'ok'
        ? [d.id, formatBytes(d.bytes), '–', '–', d.status, d.reason ?? '']
        : [
            d.id,
            formatBytes(d.bytes),
            d.seconds === undefined ? '–' : `${d.seconds.toFixed(1)} s`,
            formatRate(d.bytesPerSecond),
            d.verified === true ? `yes (${formatBytes(d.verifiedBytes)})` : 'NO',
            (d.processes ?? []).map((p) => `${p.role} ${formatBytes(p.peakRssBytes)}`).join(', '),
          ],
    ),
  };
}

export function recoveryTable(result: BenchResult): ReportTable | undefined {
  const rows = result.recovery ?? [];
  if (rows.length === 0) return undefined;
  return {
    title: 'Recovery under line faults',
    headers: ['line', 'reads', 'clean', 'faulty', 'faults (corrupted/dropped)', 'per fault', 'intact', 'lost', 'twice'],
    aligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: rows.map((r) =>
      r.status !== 'ok'
        ? [r.id, formatCount(r.reads), '–', '–', '–', '–', r.status, r.reason ?? '', '']
        : [
            r.id,
            `${formatCount(r.reads)} × ${formatBytes(r.readBytes)}`,
            `${(r.cleanSeconds ?? Number.NaN).toFixed(2)} s`,
            `${(r.faultySeconds ?? Number.NaN).toFixed(2)} s`,
            `${formatCount((r.faults?.corrupted ?? 0) + (r.faults?.dropped ?? 0))} (${formatCount(r.faults?.corrupted)}/${formatCount(r.faults?.dropped)})`,
            formatMs(r.perFaultMs),
            `${formatCount(r.intactReads)}/${formatCount(r.reads)}`,
            formatCount(r.lost),
            formatCount(r.duplicated),
          ],
    ),
    notes: rows.map((r) => `${r.id}: ${r.description}`),
  };
}

export function radare2Table(result: BenchResult): ReportTable | undefined {
  const rows = result.radare2 ?? [];
  if (rows.length === 0) return undefined;
  return {
    title: 'radare2 beside vmkd’s own client, same route',
    headers: ['route', 'bytes', 'radare2', "vmkd's client", 'same bytes'],
    aligns: ['left', 'right', 'right', 'right', 'left'],
    rows: rows.map((r) =>
      r.status !== 'ok'
        ? [r.id, formatBytes(r.bytes), r.status, r.reason ?? '', '']
        : [r.id, formatBytes(r.bytes), formatRate(r.radare2BytesPerSecond), formatRate(r.vmkdBytesPerSecond), r.matched === true ? 'yes' : 'NO'],
    ),
  };
}

export function extraTable(result: BenchResult): ReportTable | undefined {
  const rows = result.extra ?? [];
  if (rows.length === 0) return undefined;
  return {
    title: 'Other cells (endpoints and fast paths added by other packages)',
    headers: ['cell', 'figures'],
    aligns: ['left', 'left'],
    rows: rows.map((r) => [r.id, r.status !== 'ok' ? `${r.status}: ${r.reason ?? ''}` : r.figures.map((f) => `${f.name} ${formatFigure(f.value, f.unit)}`).join(', ')]),
    notes: rows.map((r) => `${r.id}: ${r.description}`),
  };
}

function formatFigure(value: number, unit: string): string {
  if (unit === 'B/s') return formatRate(value);
  if (unit === 'ms') return formatMs(value);
  if (unit === 'B') return formatBytes(value);
  return `${formatCount(value, value < 10 ? 2 : 0)} ${unit}`.trim();
}

/** Every table after the cells, in report order. */
export function reportTables(result: BenchResult, withSource: boolean): ReportTable[] {
  return [
    limitsTable(result),
    targetsTable(result, withSource),
    debuggerWorkloadsTable(result),
    dumpsTable(result),
    recoveryTable(result),
    radare2Table(result),
    extraTable(result),
    vmExitEstimate(result),
  ].filter((t): t is ReportTable => t !== undefined);
}
