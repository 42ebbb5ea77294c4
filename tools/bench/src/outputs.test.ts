import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatTable } from './format-table.js';
import { renderMarkdown } from './markdown.js';
import type { BenchResult, CellResult } from './result-types.js';
import { summarize } from './stats.js';
import { escapeXml, renderLatencySvg, renderThroughputSvg } from './svg-charts.js';
import { computeTargets } from './targets.js';
import { writeBenchOutputs } from './write-outputs.js';

function cell(id: string, rate: number, latencies: number[]): CellResult {
  const [guest, endpoint] = id.split('/') as [CellResult['guest'], CellResult['endpoint']];
  const rates = [rate * 0.9, rate, rate * 1.1];
  return {
    id,
    guest,
    endpoint,
    description: `a <cell> & "${id}" | with markup`,
    status: 'ok',
    workload: { readBytes: 1048576, latencySamples: latencies.length, breakinSamples: 1, warmupBytes: 0 },
    attachMs: 1.5,
    latencyMs: { ...summarize(latencies), samples: latencies },
    readRate: { ...summarize(rates), samples: rates },
    readBytesPerSecond: rate,
    roundTripsPerSecond: rate / 3944,
    readSeconds: 1048576 / rate,
    verified: true,
    wireBytes: Math.round((1048576 / 3944) * 4122),
    breakinMs: { ...summarize([2]), samples: [2] },
    cpuSecondsPerMiB: 0.02,
    peakRssBytes: 100 * 1048576,
    elapsedMs: 100,
  };
}

function sampleResult(): BenchResult {
  const cells: CellResult[] = [
    { ...cell('serial-paced/direct', 11_000, [18, 19, 20]), wireBytes: 11_520 * 2, readSeconds: 2.1 },
    cell('serial-unix/direct', 40e6, [0.03, 0.04, 0.05, 2]),
    cell('serial-unix/routed-inproc', 30e6, [0.04, 0.05]),
    cell('serial-unix-2proc/direct', 60e6, [0.05, 0.06]),
    cell('kdrpc-vmx/direct', 30e6, [0.04, 0.06]),
    { ...cell('kdrpc-native/direct', 0, []), status: 'skipped', reason: 'not x86-64 Linux <here>' },
  ];
  const rates = [100e6, 110e6];
  const rates2 = [100e6, 120e6];
  const limits = [
    {
      id: 'raw-unix',
      socket: 'unix' as const,
      description: 'raw',
      roundTrips: 100,
      roundTripsPerSecond: 25_000,
      payloadBytesPerSecond: 98.6e6,
      payloadRate: { ...summarize(rates), samples: rates },
      wireBytesPerRoundTrip: 4122,
      cpuSecondsPerMiB: 0.01,
    },
    {
      id: 'raw-unix-2proc',
      socket: 'unix' as const,
      processes: 2 as const,
      description: 'raw, replying end in a child',
      roundTrips: 100,
      roundTripsPerSecond: 25_000,
      payloadBytesPerSecond: 98.6e6,
      payloadRate: { ...summarize(rates2), samples: rates2 },
      wireBytesPerRoundTrip: 4122,
      cpuSecondsPerMiB: 0.01,
    },
  ];
  return {
    schema: 'vmkd-bench/1',
    date: '2026-01-02T03:04:05.000Z',
    mode: 'quick',
    command: 'vmkd bench --quick',
    machine: { cpus: 2, cpuModel: 'Test CPU <x> & co', node: 'v20.20.2', platform: 'linux', arch: 'x64', totalMemoryBytes: 2 ** 34, loadAverage: { start: 0.5, end: 0.7 } },
    durationMs: 1234,
    cells,
    limits,
    targets: computeTargets(cells, limits),
  };
}

/** Parses XML with Python's expat (installed with python3): throws on anything not well-formed. */
function assertWellFormedXml(path: string): void {
  execFileSync('python3', ['-c', 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"', path]);
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('targets', () => {
  it('computes the ratios from the cells and marks pass and miss', () => {
    const t = computeTargets(sampleResult().cells, sampleResult().limits);
    const byId = new Map(t.map((x) => [x.id, x]));
    expect(byId.get('acceleration')?.value).toBeCloseTo(30e6 / 11_000, 6);
    expect(byId.get('acceleration')?.pass).toBe(true);
    expect(byId.get('serial-efficiency')?.value).toBeCloseTo(2 / 2.1, 6);
    expect(byId.get('serial-efficiency')?.pass).toBe(true);
    expect(byId.get('router-cost/serial-unix')?.value).toBeCloseTo(0.75, 6);
    expect(byId.get('whole-stack')?.value).toBeCloseTo(40e6 / 105e6, 6);
    expect(byId.get('whole-stack')?.pass).toBe(false);
    // The deployment-shape verdict sits beside the single-process one, from its own cell and limit.
    expect(byId.get('whole-stack-2proc')?.value).toBeCloseTo(60e6 / 110e6, 6);
    expect(byId.get('whole-stack-2proc')?.pass).toBe(true);
    expect(byId.get('whole-stack-2proc')?.detail).toContain('serial-unix-2proc/direct 60.00 MB/s ÷ raw-unix-2proc 110.00 MB/s');
    expect(t.map((x) => x.id).slice(-2)).toEqual(['whole-stack', 'whole-stack-2proc']);
  });

  it('reports n/a when a cell is missing', () => {
    const t = computeTargets([], []);
    expect(t.every((x) => x.pass === undefined)).toBe(true);
  });
});

describe('output writers', () => {
  it('escapes XML text', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  });

  it('writes JSON, Markdown and two well-formed SVG charts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-out-'));
    dirs.push(dir);
    const result = sampleResult();
    const paths = await writeBenchOutputs(result, dir);
    expect(paths.map((p) => p.slice(dir.length + 1))).toEqual(['results.json', 'results.md', 'throughput.svg', 'latency.svg']);
    expect(JSON.parse(await readFile(join(dir, 'results.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(result)));
    for (const svg of ['throughput.svg', 'latency.svg']) assertWellFormedXml(join(dir, svg));
    const throughput = await readFile(join(dir, 'throughput.svg'), 'utf8');
    expect(throughput).toContain('serial-unix/routed-inproc');
    expect(throughput).toContain('raw-unix (limit, no protocol)');
    expect(throughput).toContain('Test CPU &lt;x&gt; &amp; co');
    // Skipped cells have no bar.
    expect(throughput).not.toContain('kdrpc-native/direct');
  });

  it('renders Markdown tables whose rows all have the header\'s column count', () => {
    const md = renderMarkdown(sampleResult(), { charts: { throughput: 'throughput.svg', latency: 'latency.svg' } });
    const tables = md.split('\n\n').filter((block) => block.startsWith('| '));
    expect(tables.length).toBe(3);
    for (const t of tables) {
      const rows = t.split('\n');
      const columns = (row: string): number => row.replace(/\\\|/g, '').split('|').length;
      for (const row of rows) expect(columns(row)).toBe(columns(rows[0]));
      expect(rows[1]).toMatch(/^\|(:---|---:)(\|(:---|---:))*\|$/);
    }
    expect(md).toContain('`kdrpc-native/direct` skipped: not x86-64 Linux <here>');
    expect(md).toContain('- `serial-unix/direct`: a <cell> & "serial-unix/direct" | with markup');
    expect(md).toContain('![memory-read throughput per transport](throughput.svg)');
  });

  it('renders a terminal table with PASS and MISS', () => {
    const text = formatTable(sampleResult());
    expect(text).toContain('serial-unix/direct');
    expect(text).toMatch(/PASS/);
    expect(text).toMatch(/MISS/);
    expect(text).toContain('kdrpc-native/direct: skipped — not x86-64 Linux <here>');
  });

  it('fits the terminal table in 100 columns by default, every column with wide', () => {
    const result = sampleResult();
    const narrow = formatTable(result);
    const tooLong = narrow.split('\n').filter((line) => [...line].length > 100);
    expect(tooLong).toEqual([]);
    // Every target's wording survives the wrapping; the column titles left out return with wide.
    for (const target of result.targets) expect(narrow.replace(/\n +/g, ' ')).toContain(target.title);
    expect(narrow).not.toContain('CPU s/MiB  peak RSS');
    const wide = formatTable(result, { wide: true });
    expect(wide).toContain('peak RSS');
    expect(wide).toContain(result.targets[0]?.detail);
    expect(Math.max(...wide.split('\n').map((line) => [...line].length))).toBeGreaterThan(100);
  });

  it('draws one latency row per cell with samples', () => {
    const svg = renderLatencySvg(sampleResult());
    expect(svg.match(/<circle /g)?.length).toBe(5);
    expect(renderThroughputSvg(sampleResult()).match(/<rect x="230"/g)?.length).toBe(7);
  });
});
