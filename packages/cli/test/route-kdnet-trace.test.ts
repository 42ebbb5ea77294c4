import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectDebugger, type DebuggerConnection } from '@vmkd/connect';
import { runInProcess, type CliRun } from './cli-harness.js';

/*
 * Issue 12: a KDNET route's trace. The packets are recorded decoded, like KDCOM's; with
 * --trace-bytes the UDP datagrams themselves too, and `vmkd trace --kdnet-key` decrypts them.
 * Real UDP sockets on loopback: the virtual kernel behind KDNET as the guest, and a KDNET endpoint
 * with vmkd's own KDNET debugger host attached.
 */

const KEY = '1.2.3.4';
let dir: string;
const connections: DebuggerConnection[] = [];
const stops: AbortController[] = [];
const runs: Promise<CliRun>[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-kdnet-trace-'));
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const stop of stops.splice(0)) stop.abort();
  await Promise.all(runs.splice(0));
  await rm(dir, { recursive: true, force: true });
});

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function connectWhenUp(endpoint: string): Promise<DebuggerConnection> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const connection = await connectDebugger(endpoint, { timeoutMs: 30_000 });
      connections.push(connection);
      return connection;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Routes `guest` to `endpoint` with --trace-bytes, attaches vmkd's debugger, reads, stops; the trace's records. */
async function tracedSession(guest: string, endpoint: string, kdnetSide: 'guest' | 'endpoint'): Promise<{ trace: string; records: Record<string, unknown>[] }> {
  const stop = new AbortController();
  stops.push(stop);
  const trace = join(dir, `${kdnetSide}.jsonl`);
  const run = runInProcess(['route', '--trace', trace, '--trace-bytes', guest, endpoint], { signal: stop.signal });
  runs.push(run);
  const connection = await connectWhenUp(endpoint);
  await connection.session.attach();
  expect((await connection.session.getVersion()).minorVersion).toBe(18362);
  await connection.close();
  stop.abort();
  const result = await run;
  expect(result.code).toBe(0);
  const records = (await readFile(trace, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { trace, records };
}

async function checkDecodes(trace: string, records: Record<string, unknown>[], side: 'guest' | 'endpoint'): Promise<void> {
  // The KD packets are in the trace decoded, as for a KDCOM route.
  const getVersion = records.find((r) => r['kind'] === 'packet' && JSON.stringify(r['decoded']).includes('GetVersion'));
  expect(getVersion).toBeDefined();
  // And the datagrams, both ways, on the KDNET side of the route.
  const datagrams = records.filter((r) => r['kind'] === 'datagram');
  expect(datagrams.every((d) => d['side'] === side)).toBe(true);
  expect(new Set(datagrams.map((d) => d['direction']))).toEqual(new Set(['in', 'out']));

  const decoded = await runInProcess(['trace', '--kdnet-key', KEY, trace]);
  expect(decoded.code).toBe(0);
  const lines = decoded.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toHaveLength(datagrams.length);
  // The session's data key came from the recorded poke/response, so its data decrypts.
  expect(lines.some((l) => l['event'] === 'response')).toBe(true);
  expect(lines.filter((l) => l['event'] === 'unauthenticated')).toEqual([]);
  const data = lines.filter((l) => l['channel'] === 'data');
  expect(data.length).toBeGreaterThan(0);
  expect(data.some((l) => JSON.stringify(l).includes('GetVersion'))).toBe(true);
  expect(decoded.stderr).toMatch(new RegExp(`${datagrams.length} datagrams from \\d+ records: ${datagrams.length} authenticated, 0 not`));

  // The wrong key authenticates nothing, and says so.
  const wrong = await runInProcess(['trace', '--kdnet-key', '9.9.9.9', trace]);
  expect(wrong.code).toBe(1);
  expect(wrong.stdout).toMatch(/"event":"unauthenticated"/);
}

describe.runIf(process.platform !== 'win32')('vmkd route --trace --trace-bytes over KDNET (real UDP on loopback)', () => {
  it('a KDNET guest: packets decoded, datagrams recorded, `vmkd trace --kdnet-key` decrypts them', { timeout: 120_000 }, async () => {
    const { trace, records } = await tracedSession(`sim://?via=kdnet&key=${KEY}`, `unix:${join(dir, 'kd.sock')}`, 'guest');
    await checkDecodes(trace, records, 'guest');
  });

  it('a KDNET endpoint: the same for the debugger side', { timeout: 120_000 }, async () => {
    const port = await freeUdpPort();
    const { trace, records } = await tracedSession('sim://?via=serial&baud=0', `kdnet://127.0.0.1:${port}?key=${KEY}`, 'endpoint');
    await checkDecodes(trace, records, 'endpoint');
  });
});
