import { formatMs, formatRate } from './format-units.js';
import { cellReadRate, limitRate, type BenchResult, type GuestKind } from './result-types.js';
import { histogramOf } from './stats.js';

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

const COLORS: Record<GuestKind | 'raw', string> = {
  'serial-paced': '#b45309',
  'serial-unix': '#2563eb',
  'serial-unix-2proc': '#1e3a8a',
  'serial-tcp': '#0891b2',
  'kdrpc-vmx': '#16a34a',
  'kdrpc-native': '#7c3aed',
  kdnet: '#db2777',
  raw: '#6b7280',
};

const FONT = 'font-family="ui-sans-serif, system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** Decade ticks covering [min, max] on a log axis. */
function decades(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

interface Row {
  readonly label: string;
  readonly color: string;
}

function frame(width: number, height: number, title: string, subtitle: string, body: string[]): string {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600" fill="#111827" ${FONT}>${escapeXml(title)}</text>`,
    `<text x="16" y="42" font-size="11" fill="#4b5563" ${FONT}>${escapeXml(subtitle)}</text>`,
    ...body,
    `</svg>`,
    '',
  ].join('\n');
}

function logAxis(x0: number, x1: number, yTop: number, yBottom: number, ticks: number[], format: (v: number) => string, caption: string): { x: (v: number) => number; parts: string[] } {
  const lo = Math.log10(ticks[0]);
  const hi = Math.log10(ticks[ticks.length - 1]);
  const x = (v: number): number => x0 + ((Math.log10(v) - lo) / (hi - lo)) * (x1 - x0);
  const parts: string[] = [];
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    parts.push(`<line x1="${tx}" y1="${yTop}" x2="${tx}" y2="${yBottom}" stroke="#e5e7eb" stroke-width="1"/>`);
    parts.push(`<text x="${tx}" y="${yBottom + 14}" font-size="10" text-anchor="middle" fill="#374151" ${FONT}>${escapeXml(format(t))}</text>`);
  }
  parts.push(`<line x1="${x0}" y1="${yBottom}" x2="${x1}" y2="${yBottom}" stroke="#9ca3af" stroke-width="1"/>`);
  parts.push(`<text x="${((x0 + x1) / 2).toFixed(1)}" y="${yBottom + 30}" font-size="11" text-anchor="middle" fill="#374151" ${FONT}>${escapeXml(caption)}</text>`);
  return { x, parts };
}

/** Memory-read throughput per cell and the raw limits, horizontal bars on a log scale. */
export function renderThroughputSvg(result: BenchResult): string {
  const rows: (Row & { value: number; text: string })[] = [];
  for (const l of result.limits) {
    rows.push({ label: `${l.id} (limit, no protocol)`, color: COLORS.raw, value: limitRate(l), text: formatRate(limitRate(l)) });
  }
  for (const c of result.cells) {
    const rate = cellReadRate(c);
    if (c.status !== 'ok' || rate === undefined) continue;
    rows.push({ label: c.id, color: COLORS[c.guest], value: rate, text: formatRate(rate) });
  }
  const rowH = 22;
  const left = 230;
  const right = 110;
  const width = 900;
  const top = 60;
  const height = top + Math.max(1, rows.length) * rowH + 50;
  const values = rows.map((r) => r.value).filter((v) => v > 0);
  const ticks = decades(Math.min(1e3, ...values), Math.max(1e6, ...values));
  const axis = logAxis(left, width - right, top - 6, top + rows.length * rowH, ticks, (v) => formatRate(v).replace('.00', ''), 'memory read throughput (bytes of memory per second, log scale)');
  const body = [...axis.parts];
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const w = Math.max(1, axis.x(Math.max(r.value, ticks[0])) - left);
    body.push(`<text x="${left - 8}" y="${y + 15}" font-size="11" text-anchor="end" fill="#111827" ${FONT}>${escapeXml(r.label)}</text>`);
    body.push(`<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${r.color}" rx="2"><title>${escapeXml(`${r.label}: ${r.text}`)}</title></rect>`);
    body.push(`<text x="${(left + w + 6).toFixed(1)}" y="${y + 15}" font-size="11" fill="#111827" ${FONT}>${escapeXml(r.text)}</text>`);
  });
  return frame(width, height, 'vmkd: memory-read throughput per transport', `${result.mode} run, ${result.date.slice(0, 10)}, ${result.machine.cpus} × ${result.machine.cpuModel}, Node ${result.machine.node}; median of 256 KiB read calls, content verified`, body);
}

/**
 * GetVersion round-trip and break-in latency distributions per cell on a log scale: whisker from
 * min to max, box from p25 to p75, a bar at p50 and a dot at p99.
 */
export function renderLatencySvg(result: BenchResult): string {
  const rows = result.cells
    .filter((c) => c.status === 'ok' && c.latencyMs !== undefined && c.latencyMs.samples.length > 0)
    .map((c) => {
      const samples = c.latencyMs?.samples ?? [];
      return { label: c.id, color: COLORS[c.guest], samples, h: histogramOf(samples) };
    });
  const rowH = 22;
  const left = 230;
  const right = 230;
  const width = 980;
  const top = 60;
  const height = top + Math.max(1, rows.length) * rowH + 50;
  const all = rows.flatMap((r) => r.samples).filter((v) => v > 0);
  // A loop, not Math.min(...all): a full run has tens of thousands of samples (a spread that size overflows the stack).
  let lo = 0.01;
  let hi = 1;
  for (const v of all) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const ticks = decades(lo, hi);
  const axis = logAxis(left, width - right, top - 6, top + rows.length * rowH, ticks, (v) => formatMs(v).replace('.00', ''), 'GetVersion round trip (log scale)');
  const body = [...axis.parts];
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    const h = r.h;
    const at = (p: number): number => axis.x(Math.max(h.at(p), ticks[0]));
    const min = at(0);
    const max = at(100);
    const q1 = at(25);
    const q3 = at(75);
    const p50 = at(50);
    const p99 = at(99);
    body.push(`<text x="${left - 8}" y="${y + 4}" font-size="11" text-anchor="end" fill="#111827" ${FONT}>${escapeXml(r.label)}</text>`);
    body.push(`<line x1="${min.toFixed(1)}" y1="${y}" x2="${max.toFixed(1)}" y2="${y}" stroke="${r.color}" stroke-width="1.5"/>`);
    body.push(`<rect x="${q1.toFixed(1)}" y="${y - 6}" width="${Math.max(1.5, q3 - q1).toFixed(1)}" height="12" fill="${r.color}" fill-opacity="0.35" stroke="${r.color}"/>`);
    body.push(`<line x1="${p50.toFixed(1)}" y1="${y - 7}" x2="${p50.toFixed(1)}" y2="${y + 7}" stroke="#111827" stroke-width="2"/>`);
    body.push(`<circle cx="${p99.toFixed(1)}" cy="${y}" r="3" fill="#dc2626"><title>p99 ${escapeXml(formatMs(h.at(99)))}</title></circle>`);
    body.push(`<text x="${width - right + 8}" y="${y + 4}" font-size="10" fill="#374151" ${FONT}>${escapeXml(`p50 ${formatMs(h.at(50))} · p99 ${formatMs(h.at(99))} · n=${h.count}`)}</text>`);
  });
  return frame(width, height, 'vmkd: small-request latency distributions', 'whisker min–max · box p25–p75 · black bar p50 · red dot p99', body);
}
