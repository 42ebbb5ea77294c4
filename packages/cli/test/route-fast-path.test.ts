import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectDebugger, type DebuggerConnection } from '@vmkd/connect';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { runInProcess, type CliRun } from './cli-harness.js';

/*
 * `vmkd route 'sim://?…&ram=PATH' unix:… --trace FILE`: the memory fast path's counters in the
 * trace (a record at each validation, at the end of each stop, and the totals) and in the exit
 * summary, with vmkd's DebuggerSession reading through a real dbgeng-pipe endpoint.
 */
let dir: string;
let connection: DebuggerConnection | undefined;
let stop: AbortController | undefined;
let run: Promise<CliRun> | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vmkd-fastroute-'));
});
afterEach(async () => {
  await connection?.close().catch(() => undefined);
  stop?.abort();
  await run;
  await rm(dir, { recursive: true, force: true });
});

// The endpoint is a Unix socket (`unix:`), as a debugger on the host reaches it.
const noUnixSockets = skipUnlessCapable('unix-sockets');

describe('vmkd route with the memory fast path', () => {
  it.skipIf(noUnixSockets !== undefined)(titleWithSkip('traces the fast path at each validation and stop, and prints its hits, misses and fallbacks on exit', noUnixSockets), { timeout: 120_000 }, async () => {
    const trace = join(dir, 'route.jsonl');
    const endpoint = `unix:${join(dir, 'kd.sock')}`;
    stop = new AbortController();
    run = runInProcess(['route', `sim://?via=serial&baud=0&memory=32M&prints=0&ram=${join(dir, 'sim.ram')}`, endpoint, '--trace', trace], { signal: stop.signal });
    const deadline = performance.now() + 30_000;
    for (;;) {
      try {
        connection = await connectDebugger(endpoint);
        break;
      } catch (error) {
        if (performance.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const { session } = connection;
    const stopped = await session.attach({ timeoutMs: 30_000 });
    const kernBase = (await session.getVersion()).kernBase;
    expect((await session.readVirtual(kernBase, 0x2000)).bytesRead).toBe(0x2000);
    expect(await session.searchMemory(kernBase, 0x2000n, Uint8Array.of(0x4d, 0x5a))).toBe(kernBase);
    await session.continue();
    await session.breakIn({ timeoutMs: 30_000 });
    expect((await session.readVirtual(stopped.programCounter, 16)).bytesRead).toBe(16);
    await connection.close();
    connection = undefined;
    stop.abort();
    const result = await run;
    run = undefined;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/memory fast path: \d+ hits \(8\.0 KiB from the source\), 0 misses \(0 bytes through KD\), 0 fallbacks; 1 search from the source \([\d.]+ KiB scanned\), 0 through KD; validations 2 passed, 0 failed/);

    const records = (await readFile(trace, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; event?: string; t?: number; stats?: Record<string, number> })
      .filter((r) => r.kind === 'fast-path');
    expect(records.map((r) => r.event)).toEqual(['validated', 'resumed', 'validated', 'summary']);
    expect(records.every((r) => typeof r.t === 'number')).toBe(true);
    // 0x2000 bytes are three KD reads of at most 3944 bytes.
    expect(records[1]?.stats).toMatchObject({ readsFromSource: 3, bytesFromSource: 0x2000, searchesFromSource: 1, readsThroughKd: 0 });
    expect(records[3]?.stats).toMatchObject({ readsFromSource: 4, validationsPassed: 2 });

    const shown = await runInProcess(['trace', trace]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/resumed {2}memory fast path: 3 hits \(8\.0 KiB from the source\)/);
  });
});
