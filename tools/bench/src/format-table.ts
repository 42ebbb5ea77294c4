import { formatBytes, formatCount, formatMs, formatRate, formatTargetValue } from './format-units.js';
import { cellReadRate, limitRate, type BenchResult, type CellResult, type TargetCheck } from './result-types.js';

export interface Column {
  readonly title: string;
  readonly align: 'left' | 'right';
  readonly value: (cell: CellResult) => string;
}

/** The columns every view of a run shares (terminal and Markdown). */
export const CELL_COLUMNS: readonly Column[] = [
  { title: 'cell', align: 'left', value: (c) => c.id },
  { title: 'read', align: 'right', value: (c) => formatBytes(c.workload.readBytes) },
  { title: 'attach', align: 'right', value: (c) => formatMs(c.attachMs) },
  { title: 'RTT p50', align: 'right', value: (c) => formatMs(c.latencyMs?.p50) },
  { title: 'RTT p99', align: 'right', value: (c) => formatMs(c.latencyMs?.p99) },
  { title: 'read p50', align: 'right', value: (c) => formatRate(c.readRate?.p50) },
  { title: 'read overall', align: 'right', value: (c) => formatRate(c.readBytesPerSecond) },
  { title: 'reads/s', align: 'right', value: (c) => formatCount(c.roundTripsPerSecond) },
  { title: 'verified', align: 'left', value: (c) => (c.verified === undefined ? '–' : c.verified ? 'yes' : 'NO') },
  { title: 'break-in p50', align: 'right', value: (c) => formatMs(c.breakinMs?.p50) },
  { title: 'CPU s/MiB', align: 'right', value: (c) => (c.cpuSecondsPerMiB === undefined ? '–' : c.cpuSecondsPerMiB.toFixed(3)) },
  { title: 'peak RSS', align: 'right', value: (c) => formatBytes(c.peakRssBytes) },
];

export function targetVerdict(t: TargetCheck): string {
  return t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'MISS';
}

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
  return `${c.id.padEnd(28)} ${formatRate(cellReadRate(c)).padStart(12)}  RTT p50 ${formatMs(c.latencyMs?.p50).padStart(8)}  ${c.verified ? 'verified' : 'NOT VERIFIED'}`;
}

/** The readable terminal report: cells, the raw limits, the targets with pass/miss. */
export function formatTable(result: BenchResult): string {
  const ok = result.cells.filter((c) => c.status === 'ok');
  const out: string[] = [];
  out.push(
    `vmkd bench (${result.mode}) · ${result.date} · ${result.machine.cpus} × ${result.machine.cpuModel} · Node ${result.machine.node} · ${(result.durationMs / 1000).toFixed(1)} s`,
    '',
  );
  out.push(
    renderTextTable(
      CELL_COLUMNS.map((c) => c.title),
      ok.map((cell) => CELL_COLUMNS.map((c) => c.value(cell))),
      CELL_COLUMNS.map((c) => c.align),
    ),
  );
  const other = result.cells.filter((c) => c.status !== 'ok');
  if (other.length > 0) {
    out.push('');
    for (const c of other) out.push(`${c.id}: ${c.status} — ${c.reason ?? ''}`);
  }
  if (result.limits.length > 0) {
    out.push('', 'Raw same-pattern limit (no protocol work):');
    out.push(
      renderTextTable(
        ['socket', 'round trips/s', 'payload p50', 'payload overall', 'CPU s/MiB'],
        result.limits.map((l) => [l.id, formatCount(l.roundTripsPerSecond), formatRate(limitRate(l)), formatRate(l.payloadBytesPerSecond), l.cpuSecondsPerMiB.toFixed(3)]),
        ['left', 'right', 'right', 'right', 'right'],
      ),
    );
  }
  out.push('', 'Targets:');
  out.push(
    renderTextTable(
      ['target', 'measured', 'goal', 'verdict', 'from'],
      result.targets.map((t) => [t.title, formatTargetValue(t.value, t.unit), `≥ ${formatTargetValue(t.goal, t.unit)}`, targetVerdict(t), t.detail]),
      ['left', 'right', 'right', 'left', 'left'],
    ),
  );
  out.push(
    '',
    'RTT = GetVersion round trip. read p50 = median rate of the 256 KiB read calls (what the targets use); overall = all bytes ÷ all time.',
    'Paced serial cells read a small workload (see the read column). The emulated VMX has no VM-exit cost (docs/benchmarking.md).',
  );
  return out.join('\n');
}
