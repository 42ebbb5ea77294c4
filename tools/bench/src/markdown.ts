import { CELL_COLUMNS, targetVerdict } from './format-table.js';
import { formatBytes, formatCount, formatRate, formatTargetValue } from './format-units.js';
import { limitRate, type BenchResult } from './result-types.js';

/** Escapes what would break a Markdown table cell. */
export function escapeCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(headers: readonly string[], rows: readonly (readonly string[])[], aligns: readonly ('left' | 'right')[]): string {
  const head = `| ${headers.map(escapeCell).join(' | ')} |`;
  const rule = `|${aligns.map((a) => (a === 'right' ? '---:' : ':---')).join('|')}|`;
  return [head, rule, ...rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`)].join('\n');
}

/** The results as Markdown: machine and command, the cell table, the limits and the targets. */
export function renderMarkdown(result: BenchResult, options: { readonly charts?: { throughput: string; latency: string } } = {}): string {
  const m = result.machine;
  const out: string[] = [];
  out.push(`# vmkd benchmark results (${result.mode})`, '');
  out.push(
    `- date: ${result.date}`,
    `- machine: ${m.cpus} × ${m.cpuModel}, ${formatBytes(m.totalMemoryBytes)} RAM, ${m.platform}/${m.arch}, Node ${m.node}`,
    `- command: \`${result.command}\``,
    `- duration: ${(result.durationMs / 1000).toFixed(1)} s; 1-minute load average ${m.loadAverage.start.toFixed(2)} at the start, ${m.loadAverage.end.toFixed(2)} at the end`,
    '',
  );
  const ok = result.cells.filter((c) => c.status === 'ok');
  out.push('## Cells', '');
  out.push(
    table(
      CELL_COLUMNS.map((c) => c.title),
      ok.map((cell) => CELL_COLUMNS.map((c) => c.value(cell))),
      CELL_COLUMNS.map((c) => c.align),
    ),
    '',
  );
  const other = result.cells.filter((c) => c.status !== 'ok');
  if (other.length > 0) {
    for (const c of other) out.push(`- \`${c.id}\` ${c.status}: ${c.reason ?? ''}`);
    out.push('');
  }
  out.push(
    'RTT = GetVersion round trip. read p50 = median rate of the 256 KiB read calls (what the targets use); overall = all bytes ÷ all time. CPU s/MiB counts this process and the guest child process where there is one (native stubs, two-process serial).',
    '',
    'What each cell is:',
    '',
  );
  for (const c of result.cells) out.push(`- \`${c.id}\`: ${c.description}`);
  out.push('');
  if (result.limits.length > 0) {
    out.push('## Raw same-pattern limit', '');
    out.push(
      table(
        ['socket', 'round trips/s', 'payload p50', 'payload overall', 'CPU s/MiB', 'what'],
        result.limits.map((l) => [l.id, formatCount(l.roundTripsPerSecond), formatRate(limitRate(l)), formatRate(l.payloadBytesPerSecond), l.cpuSecondsPerMiB.toFixed(3), l.description]),
        ['left', 'right', 'right', 'right', 'right', 'left'],
      ),
      '',
    );
  }
  out.push('## Targets', '');
  out.push(
    table(
      ['target', 'measured', 'goal', 'verdict', 'from'],
      result.targets.map((t) => [t.title, formatTargetValue(t.value, t.unit), `≥ ${formatTargetValue(t.goal, t.unit)}`, targetVerdict(t), t.detail]),
      ['left', 'right', 'right', 'left', 'left'],
    ),
    '',
  );
  if (options.charts !== undefined) {
    out.push('## Charts', '', `![memory-read throughput per transport](${options.charts.throughput})`, '', `![latency distributions](${options.charts.latency})`, '');
  }
  return out.join('\n');
}
