import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { createSimTarget, fillExpected } from '@vmkd/sim-target';
import { createChildTracker, waitForExit, waitForOutput } from './cli-harness.js';
import { connectDebugger, type DebuggerConnection } from '@vmkd/connect';
import { socatSkipReason, startPtyPair } from '@vmkd/serial-fallback/testing';

/*
 * Three real processes: `vmkd sim` (the guest), `vmkd route` (the router), and vmkd's own
 * DebuggerSession here in the test process, talking KDCOM to the route's endpoint.
 */

const children = createChildTracker();
const connections: DebuggerConnection[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-e2e-'));
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
  await children.killAll();
  await rm(dir, { recursive: true, force: true });
});

// The layout of the kernel `vmkd sim` serves with its defaults (win10: build 18362, 256 MiB, 1 CPU) is
// deterministic, so a local instance tells the test where things are.
const reference = createSimTarget({ build: 'win10-1903-x64', memorySize: 256 * 1024 * 1024, cpus: 1 });
const layout = reference.layout;
reference.close();

async function startSim(args: string[]): Promise<string> {
  const sim = children.spawnCli(['sim', ...args]);
  const [, address] = await waitForOutput(sim, 'stdout', /^(\S+)\n/, 15_000);
  return address;
}

async function startRoute(guest: string, endpoint: string, extra: string[] = []) {
  const child = children.spawnCli(['route', guest, endpoint, ...extra]);
  // Listening from the start: the line may come right after the ready line (issue 16, item 5).
  const guestConnected = waitForOutput(child, 'stderr', /\[route\] guest connected/, 20_000);
  guestConnected.catch(() => undefined);
  const [, address] = await waitForOutput(child, 'stdout', /^(\S+)\n/, 15_000);
  return { child, endpoint: address, guestConnected };
}

/** Attach, read and verify memory, hit a breakpoint, continue: the session every transport must carry. */
async function debugThroughRoute(endpoint: string): Promise<void> {
  const connection = await connectDebugger(endpoint);
  connections.push(connection);
  const { session } = connection;
  const stop = await session.attach();
  expect(stop.kind).toBe('exception');

  const version = await session.getVersion();
  expect(version.minorVersion).toBe(18362);
  expect(version.machineType).toBe(0x8664);

  // 64 KiB of formula memory (KDCOM chunks it into 4000-byte requests), verified byte for byte.
  const base = layout.dataRegion.virtualBase + 0x12340n;
  const read = await session.readVirtual(base, 64 * 1024);
  expect(read.bytesRead).toBe(64 * 1024);
  expect(Buffer.from(read.data).equals(Buffer.from(fillExpected(base, new Uint8Array(64 * 1024))))).toBe(true);
  const header = await session.readVirtual(layout.kernBase, 2);
  expect(Buffer.from(header.data).toString('latin1')).toBe('MZ');

  // A breakpoint in the idle loop every CPU runs: continue, and the target stops there.
  const handle = await session.writeBreakpoint(layout.idleLoopStart);
  await session.continue();
  const hit = await session.waitForStateChange(10_000);
  expect(hit.kind).toBe('exception');
  if (hit.kind === 'exception') {
    expect(hit.exceptionCode).toBe(0x80000003);
    expect(hit.exceptionAddress).toBe(layout.idleLoopStart);
  }
  await session.restoreBreakpoint(handle);
  await session.continue();
  const broken = await session.breakIn();
  expect(broken.kind).toBe('exception');
}

describe('vmkd sim → vmkd route → DebuggerSession, across processes', () => {
  it('over Unix sockets', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const com = await startSim(['--listen', `unix:${join(dir, 'com1.sock')}`]);
    expect(com).toBe(`unix:${join(dir, 'com1.sock')}`);
    const { endpoint, guestConnected } = await startRoute(`serial+${com}`, `unix:${join(dir, 'kd.sock')}`);
    await guestConnected;
    await debugThroughRoute(endpoint);
  });

  it('over TCP, and the route prints its stats and exits 0 on SIGINT', async ({ skip }) => {
    const missing = skipUnlessCapable('signals');
    skip(missing !== undefined, missing);
    const com = await startSim(['--listen', 'tcp://127.0.0.1:0']);
    const { child, endpoint, guestConnected } = await startRoute(`serial+${com}`, 'tcp://127.0.0.1:0', ['--trace', join(dir, 'route.jsonl')]);
    expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await guestConnected;
    await debugThroughRoute(endpoint);
    const exit = waitForExit(child, 10_000);
    child.kill('SIGINT');
    const { code, stderr } = await exit;
    expect(code).toBe(0);
    expect(stderr).toMatch(/route stats after/);
    expect(stderr).toMatch(/requests +\d+ \(latency p50/);
  });

  it('with the guest connecting to the route (?mode=listen, as QEMU without server=on does)', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const com = join(dir, 'com1.sock');
    const { endpoint } = await startRoute(`serial+unix:${com}?mode=listen`, `unix:${join(dir, 'kd.sock')}`);
    const sim = children.spawnCli(['sim', '--connect', `unix:${com}`]);
    await waitForOutput(sim, 'stdout', /\n/, 15_000);
    await debugThroughRoute(endpoint);
  });

  it('speaks JSON Lines with --json: a ready document, then the statistics on SIGTERM', async ({ skip }) => {
    const missing = skipUnlessCapable('signals');
    skip(missing !== undefined, missing);
    const com = await startSim(['--listen', 'tcp://127.0.0.1:0']);
    const child = children.spawnCli(['route', `serial+${com}`, 'tcp://127.0.0.1:0', '--json']);
    const [line] = await waitForOutput(child, 'stdout', /^.*\n/, 15_000);
    const ready = JSON.parse(line) as { guest: string; endpoint: string; debuggerCommands: { debugger: string; command: string }[] };
    expect(ready.guest).toBe(`serial+${com}`);
    expect(ready.debuggerCommands[0]).toEqual({ debugger: 'windbg', command: `windbg -k com:ipport=${ready.endpoint.split(':').at(-1)},port=127.0.0.1` });
    await debugThroughRoute(ready.endpoint);
    const exit = waitForExit(child, 10_000);
    child.kill('SIGTERM');
    const { code, stdout } = await exit;
    expect(code).toBe(0);
    const final = JSON.parse(stdout.trim().split('\n').at(-1)!) as { stats: { debuggerConnects: number; requestLatencyMs: { count: number } } };
    expect(final.stats.debuggerConnects).toBe(1);
    expect(final.stats.requestLatencyMs.count).toBeGreaterThan(10);
  });

  it('over a real pty pair (socat)', async ({ skip }) => {
    skip(socatSkipReason() !== undefined, socatSkipReason());
    const pair = await startPtyPair();
    children.track(pair.process);
    const [simEnd, routeEnd] = pair.paths;
    await startSim(['--connect', `serial://${simEnd}`]);
    const { endpoint, guestConnected } = await startRoute(`serial://${routeEnd}`, 'tcp://127.0.0.1:0');
    await guestConnected;
    await debugThroughRoute(endpoint);
  });
});

describe('debugger reconnects across processes', () => {
  it('20 debuggers in a row each get the current state; the guest never sees a reset', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets', 'signals');
    skip(missing !== undefined, missing);
    const com = await startSim(['--listen', `unix:${join(dir, 'com1.sock')}`]);
    const trace = join(dir, 'route.jsonl');
    const { child, endpoint } = await startRoute(`serial+${com}`, `unix:${join(dir, 'kd.sock')}`, ['--trace', trace]);
    for (let i = 0; i < 20; i++) {
      const connection = await connectDebugger(endpoint);
      connections.push(connection);
      const stop = await connection.session.attach({ breakIn: 'never' });
      expect(stop.kind).toBe('exception');
      expect((await connection.session.getVersion()).minorVersion).toBe(18362);
      await connection.close();
    }
    const exit = waitForExit(child, 10_000);
    child.kill('SIGINT');
    const { code, stderr } = await exit;
    expect(code).toBe(0);
    expect(stderr).toMatch(/debuggers +20 connects/);
    const records = (await readFile(trace, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; side?: string; event?: string });
    expect(records.filter((r) => r.kind === 'link' && r.side === 'endpoint' && r.event === 'connect')).toHaveLength(20);
    expect(records.filter((r) => r.kind === 'link' && r.side === 'guest' && r.event === 'reset')).toEqual([]);
  });
});

describe('vmkd route --relay (transparent, across processes)', () => {
  it('carries a whole debugging session unchanged and traces the KDCOM frames it saw', async ({ skip }) => {
    const missing = skipUnlessCapable('signals');
    skip(missing !== undefined, missing);
    const com = await startSim(['--listen', 'tcp://127.0.0.1:0']);
    const trace = join(dir, 'relay.jsonl');
    const { child, endpoint } = await startRoute(`serial+${com}`, 'tcp://127.0.0.1:0', ['--relay', '--trace', trace]);
    await debugThroughRoute(endpoint);
    const exit = waitForExit(child, 10_000);
    child.kill('SIGINT');
    const { code, stderr } = await exit;
    expect(code).toBe(0);
    const totals = /relay stats: 1 debugger session\(s\); guest→debugger (\d+) bytes, debugger→guest (\d+) bytes/.exec(stderr);
    expect(totals).not.toBeNull();
    expect(Number(totals![1])).toBeGreaterThan(64 * 1024); // the verified 64 KiB read went through

    const pretty = await waitForExit(children.spawnCli(['trace', trace]), 15_000);
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).toMatch(/debugger→guest +frame +KD_STATE_MANIPULATE/);
    expect(pretty.stdout).toMatch(/guest→debugger +frame +KD_STATE_MANIPULATE/);
  });
});

describe('the guest process dies mid-request', () => {
  it('the debugger gets "target gone" and nothing hangs', async ({ skip }) => {
    const missing = skipUnlessCapable('signals');
    skip(missing !== undefined, missing);
    // Paced at 115,200 bit/s, a 64 KiB read takes about 6 s: the kill lands in the middle of it.
    const simChild = children.spawnCli(['sim', '--listen', 'tcp://127.0.0.1:0', '--baud', '115200']);
    const [, com] = await waitForOutput(simChild, 'stdout', /^(\S+)\n/, 15_000);
    const { child: routeChild, endpoint } = await startRoute(`serial+${com}`, 'tcp://127.0.0.1:0');
    const connection = await connectDebugger(endpoint);
    connections.push(connection);
    const { session } = connection;
    await session.attach();

    const base = layout.dataRegion.virtualBase;
    const reading = session.readVirtual(base, 64 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const killedAt = performance.now();
    simChild.kill('SIGKILL');

    // The router answers the orphaned request for the dead target; the session reports it as such.
    const error: unknown = await reading.then(
      () => undefined,
      (e: unknown) => e,
    );
    const waited = performance.now() - killedAt;
    expect(error).toMatchObject({ code: 'ERR_KD_TARGET_GONE', disconnected: true });
    expect(waited).toBeLessThan(5_000);

    // VirtualKD's "kernel unloaded" state change tells the debugger the target is gone.
    const deadline = performance.now() + 5_000;
    while (session.lastStateChange?.kind !== 'loadSymbols' && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const gone = session.lastStateChange;
    expect(gone?.kind === 'loadSymbols' && gone.unloadSymbols).toBe(1);
    // Further requests fail at once instead of waiting for a dead peer.
    await expect(session.getVersion()).rejects.toMatchObject({ code: 'ERR_KD_TARGET_GONE' });

    // The route itself stays up (waiting for the guest to come back) and stops cleanly.
    const exit = waitForExit(routeChild, 10_000);
    routeChild.kill('SIGTERM');
    const { code, stderr } = await exit;
    expect(code).toBe(0);
    expect(stderr).toMatch(/target gone/);
    expect(stderr).toMatch(/target gone 1×/);
  });
});
