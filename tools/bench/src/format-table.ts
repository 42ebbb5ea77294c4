import { formatBytes, formatCount, formatMs, formatRate, formatRateRange } from './format-units.js';
import { headlineLines, reportTables, targetGoal, targetMeasured, targetVerdict } from './report-sections.js';
import { cellOverallRate, type BenchResult, type CellResult } from './result-types.js';

export interface Column {
  readonly title: string;
  readonly align: 'left' | 'right';
  readonly value: (cell: CellResult) => string;
  /** Shown in the default terminal table; the others only with `wide` (and in Markdown). */
  readonly narrow?: boolean;
}

export interface TableOptions {
  /** Every column, and targets with where their figures come from (no width limit). */
  readonly wide?: boolean;
  /** The most characters per line when not `wide` (default 100). */
  readonly width?: number;
}

/** A terminal report fits this many columns unless asked for all of them (`--wide`). */
export const DEFAULT_TABLE_WIDTH = 100;

/** The columns every view of a run shares (terminal and Markdown). */
export const CELL_COLUMNS: readonly Column[] = [
  { title: 'cell', align: 'left', value: (c) => c.id, narrow: true },
  { title: 'read', align: 'right', value: (c) => formatBytes(c.workload.readBytes), narrow: true },
  { title: 'attach', align: 'right', value: (c) => formatMs(c.attachMs), narrow: true },
  { title: 'RTT p50', align: 'right', value: (c) => formatMs(c.latencyMs?.p50), narrow: true },
  { title: 'RTT p99', align: 'right', value: (c) => formatMs(c.latencyMs?.p99) },
  { title: 'read overall', align: 'right', value: (c) => formatRate(c.readBytesPerSecond), narrow: true },
  { title: 'rounds (range)', align: 'right', value: (c) => roundRange(c) },
  { title: 'read p50 call', align: 'right', value: (c) => formatRate(c.readRate?.p50) },
  { title: 'reads/s', align: 'right', value: (c) => formatCount(c.roundTripsPerSecond) },
  { title: 'verified', align: 'left', value: (c) => (c.verified === undefined ? '–' : c.verified ? 'yes' : 'NO'), narrow: true },
  { title: 'break-in p50', align: 'right', value: (c) => formatMs(c.breakinMs?.p50), narrow: true },
  { title: 'CPU s/MiB', align: 'right', value: (c) => (c.cpuSecondsPerMiB === undefined ? '–' : c.cpuSecondsPerMiB.toFixed(3)) },
  { title: 'peak RSS', align: 'right', value: (c) => formatBytes(c.peakRssBytes) },
];

function roundRange(c: CellResult): string {
  const r = c.roundRates ?? [];
  if (r.length < 2) return '–';
  return formatRateRange(c.readBytesPerSecond, { min: Math.min(...r), max: Math.max(...r) }).replace(/^.* \(/, '(');
}

export { targetVerdict };

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const n = [...text].length;
  return align === 'left' ? text + ' '.repeat(width - n) : ' '.repeat(width - n) + text;
}

export function renderTextTable(headers: readonly string[], rows: readonly (readonly string[])[], aligns: readonly ('left' | 'right')[]): string {
  const widths = headers.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => pad(c, widths[i] ?? 0, aligns[i] ?? 'left')).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One line per finished cell, for the progress log. */
export function formatCellLine(c: CellResult): string {
  if (c.status !== 'ok') return `${c.id.padEnd(28)} ${c.status.toUpperCase()}: ${c.reason ?? ''}`;
  return `${c.id.padEnd(28)} ${formatRate(cellOverallRate(c)).padStart(12)}  RTT p50 ${formatMs(c.latencyMs?.p50).padStart(8)}  ${c.verified ? 'verified' : 'NOT VERIFIED'}`;
}

/** Splits `text` into lines of at most `width` characters at spaces (a longer word is cut). */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    let rest = word;
    while ([...rest].length > width) {
      if (line !== '') lines.push(line);
      lines.push([...rest].slice(0, width).join(''));
      rest = [...rest].slice(width).join('');
      line = '';
    }
    if (line === '') line = rest;
    else if ([...line].length + 1 + [...rest].length <= width) line += ` ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/** A table too wide for the terminal as a list: each row's first cell, then `header value` pairs wrapped under it. */
function listTable(headers: readonly string[], rows: readonly (readonly string[])[], width: number): string {
  const out: string[] = [];
  for (const row of rows) {
    out.push(row[0] ?? '');
    const pairs = headers.slice(1).map((h, i) => `${h}: ${row[i + 1] ?? ''}`);
    for (const line of wrapText(pairs.join(' · '), width - 2)) out.push(`  ${line}`);
  }
  return out.join('\n');
}

/** The targets as a table whose last column (the target's wording) wraps to fit `width`. */
function narrowTargets(result: BenchResult, width: number): string {
  const rows = result.targets.map((t) => [targetVerdict(t), targetMeasured(t), targetGoal(t)]);
  const headers = ['verdict', 'measured (range)', 'goal'];
  const widths = headers.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const indent = widths.reduce((sum, w) => sum + w + 2, 0);
  const titleWidth = Math.max(20, width - indent);
  const aligns = ['left', 'right', 'right'] as const;
  const fixed = (cells: readonly string[]): string => cells.map((c, i) => pad(c, widths[i] ?? 0, aligns[i] ?? 'left')).join('  ');
  const out = [`${fixed(headers)}  target`, `${widths.map((w) => '─'.repeat(w)).join('  ')}  ${'─'.repeat(Math.min(titleWidth, 6))}`];
  result.targets.forEach((t, i) => {
    const [first = '', ...more] = wrapText(t.title, titleWidth);
    out.push(`${fixed(rows[i] ?? [])}  ${first}`);
    for (const line of more) out.push(`${' '.repeat(indent)}${line}`);
  });
  return out.join('\n');
}

/**
 * The readable terminal report: the headline, the cells, the raw limits, the targets with
 * PASS/MISS, the debugger workloads, dumps, recovery, radare2, other cells and the labelled VM-exit
 * estimate. By default it fits `width` (100) columns; `wide` shows every column and the targets'
 * sources.
 */
export function formatTable(result: BenchResult, options: TableOptions = {}): string {
  const wide = options.wide === true;
  const width = options.width ?? DEFAULT_TABLE_WIDTH;
  const fit = (text: string): string[] => (wide ? [text] : wrapText(text, width));
  const columns = wide ? CELL_COLUMNS : CELL_COLUMNS.filter((c) => c.narrow === true);
  const ok = result.cells.filter((c) => c.status === 'ok');
  const out: string[] = [];
  const load = result.machine.loadAverage;
  out.push(
    ...fit(
      `vmkd bench (${result.mode}) · ${result.date} · ${result.machine.cpus} × ${result.machine.cpuModel} · Node ${result.machine.node} · load ${load.start.toFixed(2)} → ${load.end.toFixed(2)} · ${(result.durationMs / 1000).toFixed(1)} s`,
    ),
    '',
  );
  for (const line of headlineLines(result)) out.push(...fit(line));
  if (headlineLines(result).length > 0) out.push('');
  out.push(
    renderTextTable(
      columns.map((c) => c.title),
      ok.map((cell) => columns.map((c) => c.value(cell))),
      columns.map((c) => c.align),
    ),
  );
  const other = result.cells.filter((c) => c.status !== 'ok');
  if (other.length > 0) {
    out.push('');
    for (const c of other) out.push(...fit(`${c.id}: ${c.status} — ${c.reason ?? ''}`));
  }
  for (const table of reportTables(result, wide)) {
    out.push('', `${table.title}:`);
    if (table.headers[0] === 'verdict' && !wide) out.push(narrowTargets(result, width));
    else {
      const text = renderTextTable(table.headers, table.rows, table.aligns);
      out.push(wide || text.split('\n').every((l) => [...l].length <= width) ? text : listTable(table.headers, table.rows, width));
    }
    for (const note of table.notes ?? []) out.push(...fit(note));
  }
  out.push(
    '',
    ...fit('RTT = GetVersion round trip. read overall = all bytes ÷ all read time (what the headline and the targets use); rounds = the range of the per-round overall rates.'),
    ...fit('Paced serial cells read a small workload (see the read column). The emulated VMX has no VM-exit cost (docs/benchmarking.md).'),
  );
  if (!wide) out.push(...fit('More columns, and where each target figure comes from: --wide (or --json, --out DIR).'));
  return out.join('\n');
}
