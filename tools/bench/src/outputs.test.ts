import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { formatTable } from './format-table.js';
import { renderMarkdown } from './markdown.js';
import type { BenchResult, CellResult, DumpResult } from './result-types.js';
import { summarize } from './stats.js';
import { escapeXml, renderLatencySvg, renderThroughputSvg } from './svg-charts.js';
import { computeHeadline, computeTargets } from './targets.js';
import { README_MARKERS, renderDocSection, renderReadmeSection, replaceBetween } from './docs-sections.js';
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
    workload: { readBytes: 1048576, latencySamples: latencies.length, breakinSamples: 1, warmupBytes: 0, steps: 0, breakpointSamples: 0, readyRuns: 0 },
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
    roundRates: [rate * 0.95, rate, rate * 1.05],
    roundLatencyP50Ms: latencies.length === 0 ? [] : [latencies[0], latencies[0], latencies[0]],
    stepsPerSecond: 5000,
    breakpointMs: { ...summarize([0.2, 0.3]), samples: [0.2, 0.3] },
    attachReady: { ms: 20, runs: [20], modules: 13, pdbs: 13, requests: 83 },
    elapsedMs: 100,
  };
}

function sampleResult(): BenchResult {
  const cells: CellResult[] = [
    { ...cell('serial-paced/direct', 11_000, [18, 19, 20]), wireBytes: 11_520 * 2, readSeconds: 2.1, roundRates: [11_000] },
    cell('serial-unix/direct', 40e6, [0.03, 0.04, 0.05, 2]),
    cell('serial-unix/routed-inproc', 30e6, [0.04, 0.05]),
    cell('serial-unix-2proc/direct', 60e6, [0.05, 0.06]),
    cell('kdrpc-vmx/direct', 30e6, [0.04, 0.06]),
    cell('kdrpc-vmx/routed-unix', 40e6, [0.05, 0.06]),
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
      roundRates: [100e6, 105e6, 110e6],
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
      roundRates: [100e6, 110e6, 120e6],
    },
  ];
  const dumps: DumpResult[] = [
    {
      id: 'serial-unix-2proc/routed-unix',
      description: 'dump',
      status: 'ok',
      bytes: 1 << 30,
      seconds: 30,
      bytesPerSecond: (1 << 30) / 30,
      verified: true,
      verifiedBytes: 1000 * 1048576,
      processes: [
        { role: 'guest', peakRssBytes: 90 * 1048576 },
        { role: 'route', peakRssBytes: 80 * 1048576 },
        { role: 'debugger (bench)', peakRssBytes: 120 * 1048576 },
      ],
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
    targets: computeTargets(cells, limits, dumps),
    headline: computeHeadline(cells),
    dumps,
    recovery: [
      { id: 'serial-unix (faulty)', description: 'faults', status: 'ok', reads: 1000, readBytes: 4000, cleanSeconds: 1, faultySeconds: 15, faults: { corrupted: 900, dropped: 450 }, perFaultMs: 10.4, intactReads: 1000, lost: 0, duplicated: 0 },
    ],
    radare2: [{ id: 'kdrpc-vmx/routed-unix', description: 'r2', status: 'skipped', reason: 'r2 is not on PATH', bytes: 4 << 20 }],
  };
}

const noPython = skipUnlessCapable('python3');

/** Parses XML with Python's expat (installed with python3): throws on anything not well-formed. */
function assertWellFormedXml(path: string): void {
  execFileSync('python3', ['-c', 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert d.documentElement.tagName == "svg"', path]);
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('targets', () => {
  it('computes per-round ratios with their range and marks pass and miss', () => {
    const r = sampleResult();
    const byId = new Map(r.targets.map((x) => [x.id, x]));
    // Rounds pair up: 40e6 × (0.95, 1, 1.05) ÷ (100e6, 105e6, 110e6).
    const whole = byId.get('whole-stack');
    expect(whole?.value).toBeCloseTo(40e6 / 105e6, 3);
    expect(whole?.range?.n).toBe(3);
    expect(whole?.range?.min).toBeCloseTo((40e6 * 0.95) / 100e6, 6);
    expect(whole?.range?.max).toBeCloseTo((40e6 * 1.05) / 110e6, 6);
    expect(whole?.pass).toBe(false);
    expect(byId.get('whole-stack-2proc')?.value).toBeCloseTo(60e6 / 110e6, 3);
    expect(byId.get('whole-stack-2proc')?.pass).toBe(true);
    expect(byId.get('router/serial-unix/routed-inproc')?.value).toBeCloseTo(0.75, 3);
    expect(byId.get('router/serial-unix/routed-inproc')?.pass).toBe(false);
    expect(byId.get('router/kdrpc-vmx/routed-unix')?.pass).toBe(true);
    // Latency added: 50 µs − 40 µs per round, at most 15 µs.
    const added = byId.get('router-latency/kdrpc-vmx');
    expect(added?.value).toBeCloseTo(10, 3);
    expect(added?.direction).toBe('at-most');
    expect(added?.pass).toBe(true);
    // The deployable accelerated cell against paced serial, overall rates.
    expect((byId.get('deployable-acceleration')?.value ?? 0) / (40e6 / 11_000)).toBeCloseTo(1, 2);
    expect(byId.get('deployable-acceleration')?.pass).toBe(true);
    expect(byId.get('serial-efficiency')?.value).toBeCloseTo(2 / 2.1, 6);
    expect(byId.get('route-rss/serial-unix-2proc/routed-unix')?.value).toBe(80);
    expect(byId.get('route-rss/serial-unix-2proc/routed-unix')?.pass).toBe(true);
    expect(r.headline).toMatchObject({ cell: 'kdrpc-vmx/routed-unix', bytesPerSecond: 40e6, pacedBytesPerSecond: 11_000 });
    expect(r.headline?.range).toEqual({ min: 40e6 * 0.95, max: 40e6 * 1.05, n: 3 });
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

  it.skipIf(noPython !== undefined)(titleWithSkip('writes JSON, Markdown and two well-formed SVG charts', noPython), async () => {
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
    // Cells, limits, targets, debugger workloads, dumps, recovery, radare2, VM-exit estimate.
    expect(tables.length).toBe(8);
    for (const t of tables) {
      const rows = t.split('\n');
      const columns = (row: string): number => row.replace(/\\\|/g, '').split('|').length;
      for (const row of rows) expect(columns(row)).toBe(columns(rows[0]));
      expect(rows[1]).toMatch(/^\|(:---|---:)(\|(:---|---:))*\|$/);
    }
    expect(md).toContain('`kdrpc-native/direct` skipped: not x86-64 Linux <here>');
    expect(md).toContain('- `serial-unix/direct`: a <cell> & "serial-unix/direct" | with markup');
    expect(md).toContain('![memory-read throughput per transport](throughput.svg)');
    expect(md).toContain('**Deployable shape (kdrpc-vmx/routed-unix');
    expect(md).toContain('VM-exit model (an ESTIMATE, not a measurement)');
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
    expect(svg.match(/<circle /g)?.length).toBe(6);
    expect(renderThroughputSvg(sampleResult()).match(/<rect x="230"/g)?.length).toBe(8);
  });

  it('regenerates the README and doc sections between their markers from one result', () => {
    const result = sampleResult();
    const readme = renderReadmeSection(result);
    expect(readme).toContain('**40.00 MB/s** through the deployable shape');
    expect(readme).toContain('range 38.00 MB/s – 42.00 MB/s over 3 rounds');
    expect(readme).toContain('1-minute load average 0.50 at the start and 0.70 at the end');
    expect(readme).toContain('Command: `vmkd bench --quick`');
    expect(readme).toContain('| KDRPC over GuestRPC, emulated VMX in-process | 30.00 MB/s (28.50–31.50) | 40.00 MB/s (38.00–42.00) |');
    expect(readme).toContain('*Estimate, not a measurement:*');
    const text = `before\n${README_MARKERS.start}\nold\n${README_MARKERS.end}\nafter\n`;
    const replaced = replaceBetween(text, README_MARKERS, 'new');
    expect(replaced).toBe(`before\n${README_MARKERS.start}\nnew\n${README_MARKERS.end}\nafter\n`);
    expect(() => replaceBetween('no markers', README_MARKERS, 'x')).toThrow(/not found/);
    const doc = renderDocSection(result, { throughput: 't.svg', latency: 'l.svg', json: 'r.json', markdown: 'r.md' });
    expect(doc).toContain('### Targets');
    expect(doc).toContain('Verdicts: ');
    expect(doc).not.toMatch(/^# /m);
  });
});
