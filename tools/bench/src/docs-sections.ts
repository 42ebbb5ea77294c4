import { formatCount, formatRate, formatRateRange } from './format-units.js';
import { renderMarkdown } from './markdown.js';
import { targetVerdict, vmExitEstimate } from './report-sections.js';
import type { BenchResult, CellResult, GuestKind } from './result-types.js';
import { DEPLOYABLE_ENDPOINT } from './targets.js';

/** Markers the generated parts of README.md and docs/benchmarking.md sit between. */
export const README_MARKERS = { start: '<!-- bench:readme:start -->', end: '<!-- bench:readme:end -->' } as const;
export const DOC_MARKERS = { start: '<!-- bench:results:start -->', end: '<!-- bench:results:end -->' } as const;

const GUEST_ROWS: readonly { guest: GuestKind; text: string }[] = [
  { guest: 'serial-paced', text: 'serial KDCOM, paced to 115,200 bit/s' },
  { guest: 'serial-unix', text: 'serial KDCOM, unpaced, Unix socket' },
  { guest: 'serial-unix-2proc', text: 'serial KDCOM, unpaced, Unix socket, kernel in its own process' },
  { guest: 'serial-tcp', text: 'serial KDCOM, unpaced, TCP' },
  { guest: 'kdrpc-vmx', text: 'KDRPC over GuestRPC, emulated VMX in-process' },
  { guest: 'kdrpc-native', text: 'KDRPC, native x86-64 stubs under the ptrace harness' },
  { guest: 'kdnet', text: 'KDNET (AES-256, HMAC) over loopback UDP' },
];

function cell(result: BenchResult, id: string): CellResult | undefined {
  const c = result.cells.find((x) => x.id === id);
  return c?.status === 'ok' ? c : undefined;
}

function rateWithRange(c: CellResult | undefined): string {
  if (c === undefined) return '–';
  const r = c.roundRates ?? [];
  return formatRateRange(c.readBytesPerSecond, r.length > 1 ? { min: Math.min(...r), max: Math.max(...r) } : undefined);
}

/** Where and how the run was made, in one paragraph. */
export function runProvenance(result: BenchResult): string {
  const m = result.machine;
  return `${result.mode} run on ${result.date.slice(0, 10)} (${result.date}): ${m.cpus} × ${m.cpuModel}, ${(m.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB RAM, ${m.platform}/${m.arch}, Node ${m.node}; 1-minute load average ${m.loadAverage.start.toFixed(2)} at the start and ${m.loadAverage.end.toFixed(2)} at the end (${loadNote(m.loadAverage.start, m.cpus)}). Command: \`${result.command}\`, ${(result.durationMs / 60_000).toFixed(1)} min.`;
}

/**
 * What the load average says about the run. The start figure is taken before the bench starts any
 * work of its own, so a start at or above one runnable task per two cores means other work shared
 * the machine; the end figure includes the bench's own processes and says nothing either way.
 */
function loadNote(start: number, cpus: number): string {
  return start >= cpus / 2
    ? `other work shared the ${cpus} cores: every rate below is lower than on an idle machine, and the ranges show how much the rounds moved`
    : `nothing else was running when it started; the end figure counts the bench's own processes, and the ranges show how much the rounds moved`;
}

/** The README's benchmark section body: headline, the table, targets in one line, the estimate. */
export function renderReadmeSection(result: BenchResult): string {
  const h = result.headline;
  const paced = h?.pacedBytesPerSecond;
  const out: string[] = [];
  out.push(
    `**${formatRate(h?.bytesPerSecond)}** through the deployable shape — a real debugger's path: KDRPC guest → router → KDCOM endpoint on a Unix socket → debugger (\`${h?.cell ?? ''}\`), bytes ÷ wall time${h?.range === undefined ? '' : `, range ${formatRate(h.range.min)} – ${formatRate(h.range.max)} over ${h.range.n} rounds`}: **${formatCount(h?.acceleration)}×** a 115,200 bit/s serial line (${formatRate(paced)}).`,
    '',
    runProvenance(result),
    '',
    `| guest transport | direct (no router) | deployable: router → Unix-socket endpoint | deployable ÷ paced serial |`,
    '|---|---:|---:|---:|',
  );
  for (const { guest, text } of GUEST_ROWS) {
    const direct = cell(result, `${guest}/direct`);
    const deployable = cell(result, `${guest}/${DEPLOYABLE_ENDPOINT}`);
    if (direct === undefined && deployable === undefined) continue;
    const ratio = deployable?.readBytesPerSecond !== undefined && paced !== undefined ? `${formatCount(deployable.readBytesPerSecond / paced)}×` : '–';
    out.push(`| ${text} | ${rateWithRange(direct)} | ${rateWithRange(deployable)} | ${ratio} |`);
  }
  const raw = result.limits.find((l) => l.id === 'raw-unix');
  if (raw !== undefined) {
    const r = raw.roundRates ?? [];
    out.push(`| raw Unix socket, same message pattern, no protocol (the limit) | ${formatRateRange(raw.payloadBytesPerSecond, r.length > 1 ? { min: Math.min(...r), max: Math.max(...r) } : undefined)} | | |`);
  }
  const pass = result.targets.filter((t) => t.pass === true).length;
  const miss = result.targets.filter((t) => t.pass === false);
  out.push(
    '',
    `Rates are overall (bytes ÷ wall time), the median-free figure a user sees; brackets give the lowest and highest of the rounds, which interleave every cell with the raw limits. Every byte read is verified. Targets, printed by the bench itself: ${pass} PASS, ${miss.length} MISS${miss.length === 0 ? '' : ` (${miss.map((t) => t.id).join(', ')})`}; see [docs/benchmarking.md](docs/benchmarking.md).`,
  );
  const estimate = vmExitEstimate(result);
  const vmware = estimate?.rows.find((r) => r[0] === 'VMware');
  if (vmware !== undefined) {
    out.push('', `*Estimate, not a measurement:* the emulated VMX has no VM-exit cost; adding VirtualKD's published ${vmware[1]} per GuestRPC call on VMware (two calls per read) models the deployable accelerated path at about ${vmware[3]}, ${vmware[4]} serial.`);
  }
  return out.join('\n');
}

/** docs/benchmarking.md's "Latest results" body: provenance, then the whole Markdown report one heading level down. */
export function renderDocSection(result: BenchResult, charts: { throughput: string; latency: string; json: string; markdown: string }): string {
  const body = renderMarkdown(result, { charts: { throughput: charts.throughput, latency: charts.latency } })
    .split('\n')
    .filter((line, i) => !(i === 0 && line.startsWith('# ')))
    .map((line) => (line.startsWith('#') ? `##${line}` : line))
    .join('\n');
  const verdicts = result.targets.map((t) => `${targetVerdict(t)} ${t.id}`).join(' · ');
  return [runProvenance(result), '', `The raw files: [${charts.json}](${charts.json}), [${charts.markdown}](${charts.markdown}).`, '', `Verdicts: ${verdicts}.`, '', body.trim()].join('\n');
}

/** Replaces what lies between `markers` in `text` (both kept); throws when they are missing. */
export function replaceBetween(text: string, markers: { start: string; end: string }, body: string): string {
  const a = text.indexOf(markers.start);
  const b = text.indexOf(markers.end);
  if (a < 0 || b < a) throw new Error(`markers ${markers.start} … ${markers.end} not found`);
  return `${text.slice(0, a + markers.start.length)}\n${body.trim()}\n${text.slice(b)}`;
}
