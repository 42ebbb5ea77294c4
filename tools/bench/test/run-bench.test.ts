import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureRawLimit, runBench, runBenchCommand, type BenchResult } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('runBench end to end (one cheap cell)', () => {
  it('runs serial-unix/direct for real: attach, latency, a verified read, break-ins, outputs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-e2e-'));
    dirs.push(dir);
    let progress = '';
    const result: BenchResult = await runBench({
      quick: true,
      only: ['serial-unix/direct'],
      readMiB: 1,
      outDir: dir,
      progress: { write: (t: string) => void (progress += t), isTTY: false },
    });
    expect(result.cells.map((c) => c.id)).toEqual(['serial-unix/direct']);
    const cell = result.cells[0];
    expect(cell?.status, cell?.reason).toBe('ok');
    expect(cell?.verified).toBe(true);
    expect(cell?.rounds).toBe(2);
    expect(cell?.workload.readBytes).toBe(2 * 1024 * 1024);
    expect(cell?.latencyMs?.count).toBe(cell?.workload.latencySamples);
    expect(cell?.breakinMs?.count).toBe(cell?.workload.breakinSamples);
    // 1 MiB per round as 3,944-byte reads: 266 KDCOM round trips of 4,122 wire bytes at most each, plus the GetVersions.
    expect(cell?.wireBytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(cell?.readBytesPerSecond).toBeGreaterThan(0);
    expect(result.limits.map((l) => l.id)).toEqual(['raw-unix', 'raw-tcp', 'raw-unix-2proc']);
    expect(result.targets.find((t) => t.id === 'whole-stack')?.value).toBeGreaterThan(0);
    // Targets that need cells not run are n/a, not failures.
    expect(result.targets.find((t) => t.id === 'acceleration')?.pass).toBeUndefined();
    expect(progress).toContain('serial-unix/direct');
    const json = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as BenchResult;
    expect(json.cells[0]?.verified).toBe(true);
  });

  it('runs serial-unix-2proc/direct with the virtual kernel in a child process, content verified', async () => {
    const result = await runBench({ quick: true, only: ['serial-unix-2proc/direct'], readMiB: 1, skipLimits: true, progress: false });
    const cell = result.cells[0];
    expect(cell?.id).toBe('serial-unix-2proc/direct');
    expect(cell?.status, cell?.reason).toBe('ok');
    expect(cell?.verified).toBe(true);
    expect(cell?.wireBytes).toBeGreaterThan(2 * 1024 * 1024);
    // The child's resident memory is counted: two Node processes are well above one's RSS.
    expect(cell?.peakRssBytes).toBeGreaterThan(process.memoryUsage.rss());
    expect(result.targets.find((t) => t.id === 'whole-stack-2proc')?.pass).toBeUndefined();
  });

  it('measures the two-process raw limit with its replying end in a child', async () => {
    const limit = await measureRawLimit({ socket: 'unix', replier: 'child', roundTrips: 100, warmupRoundTrips: 20 });
    expect(limit.id).toBe('raw-unix-2proc');
    expect(limit.processes).toBe(2);
    expect(limit.roundTrips).toBe(100);
    expect(limit.roundTripsPerSecond).toBeGreaterThan(0);
    await expect(measureRawLimit({ socket: 'tcp', replier: 'child', roundTrips: 1 })).rejects.toMatchObject({ code: 'ERR_BENCH_BAD_OPTION' });
  });

  it('measures the raw limit with exactly the requested round trips', async () => {
    const limit = await measureRawLimit({ socket: 'unix', roundTrips: 100 });
    expect(limit.roundTrips).toBe(100);
    expect(limit.wireBytesPerRoundTrip).toBe(4122);
    expect(limit.roundTripsPerSecond).toBeGreaterThan(0);
  });

  it('the command refuses bad options with exit code 2 and a JSON error', async () => {
    let out = '';
    const io = { stdout: { write: (t: string) => void (out += t) }, stderr: { write: () => undefined } };
    expect(await runBenchCommand(['--json', '--only', 'no-such-cell'], io)).toBe(2);
    expect(JSON.parse(out)).toEqual({ error: { code: 'ERR_BENCH_BAD_OPTION', message: 'no cell matches no-such-cell' } });
    expect(await runBenchCommand(['--bogus'], io)).toBe(2);
  });
});
