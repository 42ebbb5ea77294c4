import { CELL_COLUMNS } from './format-table.js';
import { formatBytes } from './format-units.js';
import { headlineLines, reportTables } from './report-sections.js';
import type { BenchResult } from './result-types.js';

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
  out.push(...headlineLines(result).map((l) => `**${l}**`), '');
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
    'RTT = GetVersion round trip. read overall = all bytes ÷ all read time (what the headline and the targets use); rounds = the range of the per-round overall rates; read p50 call = median rate of the 256 KiB read calls. CPU s/MiB counts this process and the guest child process where there is one (native stubs, two-process serial).',
    '',
    'What each cell is:',
    '',
  );
  for (const c of result.cells) out.push(`- \`${c.id}\`: ${c.description}`);
  out.push('');
  for (const t of reportTables(result, true)) {
    out.push(`## ${t.title}`, '', table(t.headers, t.rows, t.aligns), '');
    for (const note of t.notes ?? []) out.push(note, '');
  }
  if (options.charts !== undefined) {
    out.push('## Charts', '', `![memory-read throughput per transport](${options.charts.throughput})`, '', `![latency distributions](${options.charts.latency})`, '');
  }
  return out.join('\n');
}
