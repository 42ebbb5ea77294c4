import { afterEach, describe, expect, it } from 'vitest';
import { createTargetSession } from '@vmkd/kd-protocol';
import { connectDebugger, type DebuggerConnection } from '@vmkd/connect';
import { createSimTarget, fillExpected } from '@vmkd/sim-target';
import { createEmulatedVmx, createKdrpcGuestStack, createKdrpcProxyPipeClient, kdrpcProxyVmxHandler } from '@vmkd/vmware-backdoor';
import { createChildTracker, runInProcess, waitForExit, waitForOutput } from './cli-harness.js';

/*
 * The CLI on Windows named pipes, in real processes: `vmkd sim` serving KDCOM on a pipe, `vmkd
 * route` with pipe guests and a pipe endpoint, vmkd's DebuggerSession attaching through
 * `pipe://`, and VirtualKD's message-mode proxy pipe fed by a forwarder. Node on Windows starts
 * slowly under load (and more slowly under Wine): the waits are generous, never tight.
 */

const onWindows = process.platform === 'win32';
const children = createChildTracker();
const connections: DebuggerConnection[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of cleanups.splice(0).reverse()) await c();
  await children.killAll();
});

let pipes = 0;
const pipeUri = (what: string): string => `pipe://./pipe/vmkd-test-cli-${process.pid}-${what}-${++pipes}`;

// `vmkd sim`'s default kernel (win10: build 18362, 256 MiB, 1 CPU) is deterministic: a local instance says where things are.
const reference = createSimTarget({ build: 'win10-1903-x64', memorySize: 256 * 1024 * 1024, cpus: 1 });
const layout = reference.layout;
reference.close();

async function startRoute(guest: string, endpoint: string): Promise<{ endpoint: string }> {
  const child = children.spawnCli(['route', guest, endpoint]);
  const [, address] = await waitForOutput(child, 'stdout', /^(\S+)\n/, 60_000);
  return { endpoint: address };
}

/** Attach, version, a verified 64 KiB read, a breakpoint hit, break-in: a whole session through `pipe://`. */
async function debugThrough(endpoint: string, build = 18362): Promise<void> {
  const connection = await connectDebugger(endpoint);
  connections.push(connection);
  const { session } = connection;
  expect((await session.attach()).kind).toBe('exception');
  expect((await session.getVersion()).minorVersion).toBe(build);
  const base = layout.dataRegion.virtualBase + 0x12340n;
  const read = await session.readVirtual(base, 64 * 1024);
  expect(read.bytesRead).toBe(64 * 1024);
  expect(Buffer.from(read.data).equals(Buffer.from(fillExpected(base, new Uint8Array(64 * 1024))))).toBe(true);
  const handle = await session.writeBreakpoint(layout.idleLoopStart);
  await session.continue();
  const hit = await session.waitForStateChange(30_000);
  expect(hit.kind === 'exception' && hit.exceptionAddress).toBe(layout.idleLoopStart);
  await session.restoreBreakpoint(handle);
  await session.continue();
  expect((await session.breakIn()).kind).toBe('exception');
}

describe.runIf(onWindows)('the CLI on Windows named pipes', { timeout: 180_000 }, () => {
  it('vmkd route sim:// pipe://…: DebuggerSession through the pipe endpoint, and a second debugger after the first', async () => {
    const { endpoint } = await startRoute('sim://?via=serial&baud=0', pipeUri('kd'));
    expect(endpoint).toMatch(/^pipe:\/\/\.\/pipe\/vmkd-test-cli-/);
    await debugThrough(endpoint);
    await connections.pop()?.close();
    const again = await connectDebugger(endpoint);
    connections.push(again);
    expect((await again.session.attach({ breakIn: 'never' })).kind).toBe('exception');
    expect((await again.session.getVersion()).minorVersion).toBe(18362);
  });

  it('vmkd sim --listen pipe://… (a second process) → vmkd route serial+pipe://… → pipe:// endpoint → DebuggerSession', async () => {
    const com = pipeUri('com1');
    const sim = children.spawnCli(['sim', '--listen', com]);
    const [, address] = await waitForOutput(sim, 'stdout', /^(\S+)\n/, 60_000);
    expect(address).toBe(com);
    const { endpoint } = await startRoute(`serial+${com}`, pipeUri('kd'));
    await debugThrough(endpoint);
  });

  it('serial+pipe:// reconnects: the VM side (a vmkd sim process) dies and comes back on the same pipe, and the next debugger attaches', async () => {
    const com = pipeUri('com1');
    const first = children.spawnCli(['sim', '--listen', com]);
    await waitForOutput(first, 'stdout', /^(\S+)\n/, 60_000);
    const child = children.spawnCli(['route', `serial+${com}`, pipeUri('kd')]);
    const reconnected = waitForOutput(child, 'stderr', /guest connected[\s\S]*guest connected/, 120_000);
    reconnected.catch(() => undefined);
    const [, endpoint] = await waitForOutput(child, 'stdout', /^(\S+)\n/, 60_000);
    const before = await connectDebugger(endpoint);
    connections.push(before);
    expect((await before.session.attach()).kind).toBe('exception');
    await before.close();
    first.kill('SIGKILL');
    const second = children.spawnCli(['sim', '--listen', com]);
    await waitForOutput(second, 'stdout', /^(\S+)\n/, 60_000);
    await reconnected;
    const after = await connectDebugger(endpoint);
    connections.push(after);
    // A kernel that has just booted announces itself with a load-symbols stop, as Windows does.
    expect(['loadSymbols', 'exception']).toContain((await after.session.attach()).kind);
    expect((await after.session.getVersion()).minorVersion).toBe(18362);
    const header = await after.session.readVirtual(layout.kernBase, 2);
    expect(Buffer.from(header.data).toString('latin1')).toBe('MZ');
  });

  it('vmkd route kdrpc+proxypipe://… (VirtualKD proxy pipe, message mode) fed by a forwarder → pipe:// endpoint → DebuggerSession', async () => {
    const proxy = pipeUri('kdvmware_proxypipe');
    const { endpoint } = await startRoute(`kdrpc+${proxy.replace(/^pipe:/, 'proxypipe:')}`, pipeUri('kd'));
    // The VMM side: a guest's KDRPC calls through an emulated VMX whose ~kdVMvA handler forwards
    // each raw body over the message pipe, as VirtualKD's kdclient does in proxy mode.
    const client = createKdrpcProxyPipeClient({ path: `\\\\.\\pipe\\${proxy.slice('pipe://./pipe/'.length)}`, timeoutMs: 5000 });
    const vmx = createEmulatedVmx();
    vmx.register('~kdVMvA', kdrpcProxyVmxHandler(client));
    const sim = createSimTarget({ build: 'win10-2004-x64', memorySize: 256 * 1024 * 1024, cpus: 1, printIntervalMs: 0 });
    const stack = createKdrpcGuestStack({ vmx });
    const target = createTargetSession(stack.link, sim);
    cleanups.push(
      () => client.close(),
      () => target.close(),
      () => stack.close(),
      () => sim.close(),
    );
    await debugThrough(endpoint, 19041);
  });

  it('vmkd doctor: the pipe schemes are available, the Unix-socket ones are not', async () => {
    const run = await waitForExit(children.spawnCli(['doctor', '--json']), 60_000);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { platform: string; schemes: { scheme: string; available: boolean }[] };
    expect(report.platform).toBe('win32');
    const available = Object.fromEntries(report.schemes.map((s) => [s.scheme, s.available]));
    expect(available).toMatchObject({ 'pipe:': true, 'serial+pipe:': true, 'kdrpc+proxypipe:': true, 'unix:': false, 'serial+unix:': false, 'kdrpc+proxyunix:': false });
  });

  it('vmkd route refuses a Unix-socket guest on Windows with a clear code', async () => {
    const run = await runInProcess(['route', 'kdrpc+proxyunix:proxy.sock', pipeUri('kd')]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/ERR_SERIAL_UNSUPPORTED_PLATFORM/);
  });

  it('vmkd demo runs to the end on pipes', async () => {
    const run = await waitForExit(children.spawnCli(['demo', '--serial-kib', '4', '--accelerated-mib', '1']), 170_000);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Windows build 18362, AMD64, KD protocol 6/);
    expect(run.stdout).toMatch(/breakpoint hit at .* on CPU 0 after \d+ ms; bc 1/);
    expect(run.stdout).toMatch(/the accelerated path read [\d,]+× faster/);
  });
});
