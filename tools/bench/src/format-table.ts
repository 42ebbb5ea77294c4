import { formatBytes, formatCount, formatMs, formatRate, formatRatio } from './format-units.js';
import type { BenchResult, CellResult, TargetCheck } from './result-types.js';

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
  { title: 'read throughput', align: 'right', value: (c) => formatRate(c.readBytesPerSecond) },
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
  return `${c.id.padEnd(28)} ${formatRate(c.readBytesPerSecond).padStart(12)}  RTT p50 ${formatMs(c.latencyMs?.p50).padStart(8)}  ${c.verified ? 'verified' : 'NOT VERIFIED'}`;
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
        ['socket', 'round trips/s', 'payload rate', 'CPU s/MiB'],
        result.limits.map((l) => [l.id, formatCount(l.roundTripsPerSecond), formatRate(l.payloadBytesPerSecond), l.cpuSecondsPerMiB.toFixed(3)]),
        ['left', 'right', 'right', 'right'],
      ),
    );
  }
  out.push('', 'Targets:');
  out.push(
    renderTextTable(
      ['target', 'measured', 'goal', 'verdict', 'from'],
      result.targets.map((t) => [t.title, formatRatio(t.value), `≥ ${formatRatio(t.goal)}`, targetVerdict(t), t.detail]),
      ['left', 'right', 'right', 'left', 'left'],
    ),
  );
  out.push(
    '',
    'RTT = GetVersion round trip. Paced serial cells read a small workload (see the read column); the emulated VMX has no VM-exit cost (docs/benchmarking.md).',
  );
  return out.join('\n');
}
