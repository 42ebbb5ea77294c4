import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { createSimTarget, fillExpected } from '@vmkd/sim-target';
import { connectDebugger, type DebuggerConnection } from '@vmkd/connect';
import { createChildTracker, waitForOutput } from './cli-harness.js';

/* Real processes speaking real KDNET over loopback UDP: `vmkd sim`, `vmkd route`, and vmkd's own KDNET debugger here. */

const children = createChildTracker();
const connections: DebuggerConnection[] = [];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-kdnet-cli-'));
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
  await children.killAll();
  await rm(dir, { recursive: true, force: true });
});

const reference = createSimTarget({ build: 'win10-1903-x64', memorySize: 256 * 1024 * 1024, cpus: 1 });
const base = reference.layout.dataRegion.virtualBase + 0x4321n;
reference.close();

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function readThrough(uri: string): Promise<void> {
  const connection = await connectDebugger(uri, { timeoutMs: 15_000 });
  connections.push(connection);
  await connection.session.attach({ timeoutMs: 15_000 });
  const read = await connection.session.readVirtual(base, 64 * 1024);
  expect(Buffer.from(read.data).equals(Buffer.from(fillExpected(base, new Uint8Array(64 * 1024))))).toBe(true);
}

// `vmkd sim --listen kdnet://` and a kdnet:// endpoint poke the debugger's port before the debugger
// listens there (an ICMP port unreachable), as a target does until WinDbg starts.
const noUdpRecovery = (): string | undefined => skipUnlessCapable('udp-after-unreachable');

describe('vmkd and KDNET', () => {
  it('vmkd sim --listen kdnet://…: an external KDNET debugger attaches straight to the virtual kernel', async ({ skip }) => {
    skip(noUdpRecovery() !== undefined, noUdpRecovery());
    const port = await freeUdpPort();
    const uri = `kdnet://127.0.0.1:${port}?key=cl1.s1m.k3y.9`;
    const sim = children.spawnCli(['sim', '--listen', uri]);
    const [out] = await waitForOutput(sim, 'stdout', /[\s\S]*windbg -k net:port=\d+,key=\S+\n/, 15_000);
    expect(out).toContain(`windbg -k net:port=${port},key=cl1.s1m.k3y.9`);
    await readThrough(uri);
  });

  it('vmkd route sim://?via=kdnet unix:… : the virtual kernel over KDNET, routed to a KDCOM endpoint', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const child = children.spawnCli(['route', 'sim://?via=kdnet', `unix:${join(dir, 'kd.sock')}`]);
    const [, endpoint] = await waitForOutput(child, 'stdout', /^(\S+)\n/, 15_000);
    await readThrough(endpoint);
  });

  it('vmkd route … kdnet://…: prints the WinDbg and radare2 command lines, and a KDNET debugger reads through the route', async ({ skip }) => {
    skip(noUdpRecovery() !== undefined, noUdpRecovery());
    const port = await freeUdpPort();
    const uri = `kdnet://127.0.0.1:${port}?key=r0ute.c1i.1.2`;
    const child = children.spawnCli(['route', 'sim://?via=serial&baud=0', uri]);
    const [out] = await waitForOutput(child, 'stdout', /[\s\S]*winkd:\/\/\S+[^\n]*\n/, 15_000);
    expect(out).toContain(`windbg -k net:port=${port},key=r0ute.c1i.1.2`);
    expect(out).toMatch(new RegExp(`r2 -a x86 -b 64 -D winkd winkd://127\\.0\\.0\\.1:${port}:r0ute\\.c1i\\.1\\.2`));
    await readThrough(uri);
  });
});
