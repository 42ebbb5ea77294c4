import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { radare2UnavailableReason, runRadare2Dump } from '../src/cells/radare2-dump.js';
import { GUEST_URIS, measureRawLimit, runBench, runBenchCommand, type BenchResult } from '../src/index.js';

const r2Missing = radare2UnavailableReason();

// The cells and raw limits here run over Unix sockets.
const noUnixSockets = skipUnlessCapable('unix-sockets');
const itOverUnix = it.skipIf(noUnixSockets !== undefined);

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('runBench end to end (one cheap cell)', () => {
  itOverUnix(titleWithSkip('runs serial-unix/direct for real: attach, latency, a verified read, break-ins, outputs', noUnixSockets), async () => {
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
    // The limits are measured in every round, interleaved with the cells: one figure per round.
    for (const limit of result.limits) expect(limit.roundRates).toHaveLength(2);
    expect(cell?.roundRates).toHaveLength(2);
    // What debuggers feel, once per cell: single steps, breakpoint round trips, attach to ready.
    expect(cell?.stepsPerSecond).toBeGreaterThan(0);
    expect(cell?.breakpointMs?.count).toBe(cell?.workload.breakpointSamples);
    expect(cell?.attachReady).toMatchObject({ modules: 13, pdbs: 13 });
    const whole = result.targets.find((t) => t.id === 'whole-stack');
    expect(whole?.range?.n).toBe(2);
    expect(result.targets.find((t) => t.id === 'whole-stack')?.value).toBeGreaterThan(0);
    // Targets that need cells not run are n/a, not failures.
    expect(result.targets.find((t) => t.id === 'acceleration')?.pass).toBeUndefined();
    expect(progress).toContain('serial-unix/direct');
    const json = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as BenchResult;
    expect(json.cells[0]?.verified).toBe(true);
  });

  itOverUnix(titleWithSkip('runs serial-unix-2proc/direct with the virtual kernel in a child process, content verified', noUnixSockets), async () => {
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

  itOverUnix(titleWithSkip('runs the once-per-run workloads: full dumps through a route process, recovery under line faults', noUnixSockets), { timeout: 240_000 }, async () => {
    const result = await runBench({ quick: true, only: ['dump', 'recovery'], dumpMiB: 4, recoveryReads: 20, progress: false });
    expect(result.cells).toEqual([]);
    expect(result.dumps?.map((d) => d.id)).toEqual(['serial-unix-2proc/routed-unix', 'kdrpc-vmx/routed-unix', 'kdnet/routed-unix']);
    for (const d of result.dumps ?? []) {
      expect(d.status, d.reason).toBe('ok');
      expect(d.verified).toBe(true);
      expect(d.verifiedBytes).toBe(4 * 1024 * 1024);
      for (const p of d.processes ?? []) expect(p.peakRssBytes).toBeGreaterThan(0);
    }
    expect(result.dumps?.[0]?.processes?.map((p) => p.role)).toEqual(['guest', 'route', 'debugger (bench)']);
    expect(result.targets.find((t) => t.id === 'route-rss/serial-unix-2proc/routed-unix')?.value).toBeGreaterThan(0);
    // Both lines: vmkd's timeouts at both ends, and the target with Windows' fixed ones.
    expect(result.recovery?.map((r) => r.id)).toHaveLength(2);
    for (const recovery of result.recovery ?? []) {
      expect(recovery.status, recovery.reason).toBe('ok');
      expect(recovery).toMatchObject({ reads: 20, intactReads: 20, lost: 0, duplicated: 0 });
    }
    const faults = (result.recovery ?? []).reduce((n, r) => n + (r.faults?.corrupted ?? 0) + (r.faults?.dropped ?? 0), 0);
    expect(faults).toBeGreaterThan(0);
  });

  it.skipIf(r2Missing !== undefined)('radare2 dumps 1 MiB through the same route as vmkd’s client, the same bytes (needs r2)', { timeout: 240_000 }, async () => {
    const r = await runRadare2Dump(GUEST_URIS['kdrpc-vmx'], 1024 * 1024, 'kdrpc-vmx/routed-unix');
    expect(r.status, r.reason).toBe('ok');
    expect(r.matched).toBe(true);
    expect(r.radare2BytesPerSecond).toBeGreaterThan(0);
    expect(r.vmkdBytesPerSecond).toBeGreaterThan(0);
  });

  itOverUnix(titleWithSkip('measures the two-process raw limit with its replying end in a child', noUnixSockets), async () => {
    const limit = await measureRawLimit({ socket: 'unix', replier: 'child', roundTrips: 100, warmupRoundTrips: 20 });
    expect(limit.id).toBe('raw-unix-2proc');
    expect(limit.processes).toBe(2);
    expect(limit.roundTrips).toBe(100);
    expect(limit.roundTripsPerSecond).toBeGreaterThan(0);
    await expect(measureRawLimit({ socket: 'tcp', replier: 'child', roundTrips: 1 })).rejects.toMatchObject({ code: 'ERR_BENCH_BAD_OPTION' });
  });

  itOverUnix(titleWithSkip('measures the raw limit with exactly the requested round trips', noUnixSockets), async () => {
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
