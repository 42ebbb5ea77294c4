import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDebuggerSession, createKdcomLink, createMemoryBytePair, createTargetSession, type DebuggerSession } from '@vmkd/kd-protocol';
import { createDebuggerEndpoint } from '@vmkd/dbgeng-pipe';
import { route, type RouteEvent } from '@vmkd/router';
import { connectUnixByteLink } from '@vmkd/byte-links';
import { createSimTarget } from '@vmkd/sim-target';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { createKdnetEndpointLink, createKdnetGuestLink, openTargetOverKdnet } from '@vmkd/kdnet';

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-kdnet-route-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function debuggerOn(path: string): Promise<{ session: DebuggerSession; close(): Promise<void> }> {
  const link = createKdcomLink(await connectUnixByteLink({ path }), { role: 'target-facing' });
  const session = createDebuggerSession(link, { timeoutMs: 8000 });
  const close = async (): Promise<void> => {
    await session.close();
    await link.close();
  };
  cleanups.push(close);
  return { session, close };
}

const noUnixSockets = skipUnlessCapable('unix-sockets');

describe.skipIf(noUnixSockets !== undefined)(titleWithSkip('routed: the virtual kernel over KDNET (guest) to a KDCOM endpoint on a Unix socket', noUnixSockets), () => {
  it('read 1 MiB verified, breakpoint, break-in, a debugger reconnecting, and a guest reboot reported and survived', async () => {
    const sim = createSimTarget({ cpus: 2, printIntervalMs: 0 });
    cleanups.push(() => sim.close());
    const guest = await openTargetOverKdnet(sim, { pokeIntervalMs: 200, session: { maxReplyPayload: 1024 } });
    cleanups.push(() => guest.close());
    const path = join(dir, 'kd.sock');
    const endpoint = await createDebuggerEndpoint({ listen: { kind: 'unix', path } });
    const r = route(guest.link, endpoint);
    cleanups.push(() => r.close());
    const events: RouteEvent[] = [];
    r.events$.subscribe((e) => events.push(e));

    const first = await debuggerOn(path);
    let session = first.session;
    expect((await session.attach({ timeoutMs: 8000 })).kind).toBe('exception');
    const base = sim.layout.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 1024 * 1024);
    expect(read.bytesRead).toBe(1024 * 1024);
    expect(Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(base, 1024 * 1024, 0)))).toBe(true);

    const handle = await session.writeBreakpoint(sim.layout.idleLoopJump);
    const hit = session.waitForStateChange(8000);
    await session.continue();
    expect((await hit).programCounter).toBe(sim.layout.idleLoopJump);
    expect(await session.restoreBreakpoint(handle)).toBe(0);
    await session.continue();
    await until(() => r.target.state === 'running', 'the target running');
    const broke = await session.breakIn({ timeoutMs: 8000 });
    expect(broke.kind === 'exception' && broke.exceptionCode).toBe(0x80000003);

    // The debugger goes away and another attaches: the route replays the stop.
    await first.close();
    session = (await debuggerOn(path)).session;
    expect((await session.attach({ timeoutMs: 8000 })).kind).toBe('exception');
    expect(Buffer.from((await session.readVirtual(base + 4096n, 8192)).data).equals(Buffer.from(sim.readVirtual(base + 4096n, 8192, 0)))).toBe(true);

    // The guest reboots: its KDNET end is replaced by a fresh one poking with port 0.
    await guest.session.close();
    await guest.targetLink.close();
    const reborn = await createKdnetEndpointLink({ key: guest.key, debugger: guest.link.local, pokeIntervalMs: 200 });
    cleanups.push(() => reborn.close());
    const served = createTargetSession(reborn, sim, { maxReplyPayload: 1024 });
    cleanups.push(() => served.close());
    await until(() => guest.link.kdnetStats().sessions === 2 && guest.link.connected, 'the guest coming back');
    // The route saw the guest go (a reboot) and come back.
    await until(() => events.some((e) => e.kind === 'link' && e.side === 'guest' && e.event === 'connect'), 'the route seeing the guest again');
    const guestEvents = events.flatMap((e) => (e.kind === 'link' && e.side === 'guest' ? [e.event] : []));
    expect(guestEvents).toEqual(['disconnect', 'connect']);
    // The debugger is still usable after the reboot.
    const again = await session.attach({ timeoutMs: 8000 });
    expect(again.kind).toBeDefined();
    const after = await session.readVirtual(base, 4096);
    expect(Buffer.from(after.data).equals(Buffer.from(sim.readVirtual(base, 4096, 0)))).toBe(true);
  });
});

describe('routed: a KDCOM guest served to a KDNET debugger (the endpoint role)', () => {
  it("vmkd's own KDNET debugger role attaches through the route's KDNET endpoint and reads verified memory", async () => {
    const sim = createSimTarget({ cpus: 1, printIntervalMs: 0 });
    cleanups.push(() => sim.close());
    const [targetEnd, guestEnd] = createMemoryBytePair({ names: ['sim:target', 'sim:line'] });
    const targetLink = createKdcomLink(targetEnd, { role: 'debugger-facing' });
    const target = createTargetSession(targetLink, sim);
    cleanups.push(async () => {
      await target.close();
      await targetLink.close();
    });
    const serialGuest = createKdcomLink(guestEnd, { role: 'target-facing' });
    // The KDNET debugger (as WinDbg -k net:port=P,key=K): listens; the route's endpoint pokes it.
    const kdnetDebugger = await createKdnetGuestLink({ key: 'route.k.d.net', listen: { address: '127.0.0.1', port: 0 } });
    const endpoint = await createKdnetEndpointLink({ key: 'route.k.d.net', debugger: kdnetDebugger.local, pokeIntervalMs: 200 });
    const r = route(serialGuest, endpoint);
    cleanups.push(() => r.close());
    const session = createDebuggerSession(kdnetDebugger, { timeoutMs: 8000 });
    cleanups.push(async () => {
      await session.close();
      await kdnetDebugger.close();
    });
    expect((await session.attach({ timeoutMs: 8000 })).kind).toBe('exception');
    const base = sim.layout.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 256 * 1024);
    expect(Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(base, 256 * 1024, 0)))).toBe(true);
    await session.continue();
    await until(() => r.target.state === 'running', 'the target running');
    const broke = await session.breakIn({ timeoutMs: 8000 });
    expect(broke.kind === 'exception' && broke.exceptionCode).toBe(0x80000003);
    // At least this break-in; attach may have sent one too when the stop was slow to come (a loaded machine).
    expect(endpoint.kdnetStats().breakins).toBeGreaterThanOrEqual(1);
  });
});
