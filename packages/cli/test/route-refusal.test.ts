import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectDebugger, type DebuggerConnection } from '@vmkd/connect';
import { runInProcess, type CliRun } from './cli-harness.js';

/*
 * Issue 16 item 7: a second debugger on a route's endpoint is refused, and the route says who
 * holds the endpoint and since when, on stderr and in the trace. Real sockets both times.
 */

let dir: string;
const connections: DebuggerConnection[] = [];
const stops: AbortController[] = [];
const runs: Promise<CliRun>[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-refusal-'));
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const stop of stops.splice(0)) stop.abort();
  await Promise.all(runs.splice(0));
  await rm(dir, { recursive: true, force: true });
});

async function connectWhenUp(endpoint: string): Promise<DebuggerConnection> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      const connection = await connectDebugger(endpoint);
      connections.push(connection);
      return connection;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const ENDPOINTS: [name: string, uri: (dir: string) => string][] = [['tcp', () => 'tcp://127.0.0.1:0']];
if (process.platform !== 'win32') ENDPOINTS.unshift(['unix', (d) => `unix:${join(d, 'kd.sock')}`]);

describe.each(ENDPOINTS)('vmkd route … %s endpoint: a second debugger', (_name, uriOf) => {
  it('is refused; stderr names the debugger attached and since when; the trace records it', { timeout: 120_000 }, async () => {
    const stop = new AbortController();
    stops.push(stop);
    const trace = join(dir, 'route.jsonl');
    let stdout = '';
    let onRefused: () => void = () => undefined;
    const refused = new Promise<void>((resolve) => (onRefused = resolve));
    const run = runInProcess(['route', '--trace', trace, 'sim://?via=serial&baud=0', uriOf(dir)], {
      signal: stop.signal,
      onStderr: (all) => {
        if (/refused/.test(all)) onRefused();
      },
      onStdout: (all) => (stdout = all),
    });
    runs.push(run);
    // The endpoint's address (with the port the system picked) is the first line on stdout.
    while (!/\n/.test(stdout)) await new Promise((r) => setTimeout(r, 20));
    const endpoint = stdout.split('\n')[0] ?? '';

    const first = await connectWhenUp(endpoint);
    await first.session.attach();
    expect((await first.session.getVersion()).minorVersion).toBe(18362);

    // The second one gets in at the socket level and is turned away by the endpoint.
    const second = await connectDebugger(endpoint, { timeoutMs: 5_000 });
    connections.push(second);
    await expect(second.session.attach()).rejects.toThrow();
    await refused;

    // The first debugger keeps working.
    expect((await first.session.getVersion()).minorVersion).toBe(18362);
    stop.abort();
    const result = await run;
    expect(result.code).toBe(0);

    const line = result.stderr.split('\n').find((l) => l.includes('refused'));
    expect(line).toMatch(/\[route\] debugger .+ refused: debugger .+ is attached since \d\d:\d\d:\d\d UTC \(\d+\.\d s\); one debugger at a time/);
    // The newcomer and the holder are told apart, even on a Unix socket where both have one path.
    const [, newcomer, holder] = /debugger (.+) refused: debugger (.+) is attached/.exec(line!)!;
    expect(newcomer).not.toBe(holder);
    expect(result.stderr).not.toMatch(/is attached; one peer at a time/);
    expect(result.stderr).toMatch(/debuggers +1 connects, .*1 refused/);

    const records = (await readFile(trace, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const refusal = records.find((r) => r['kind'] === 'debugger-refused');
    expect(refusal).toMatchObject({ peer: newcomer, holder });
    expect(refusal!['heldMs']).toBeGreaterThanOrEqual(0);
  });
});
