import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDebuggerSession, createTargetSession, KdApi, type DebuggerSession, type LinkEvent, type TargetSession } from '@vmkd/kd-protocol';
import { createSimTarget, type SimTarget } from '@vmkd/sim-target';
import { route, type Route, type RouteEvent } from '../src/index.js';
import { record } from './helpers/link-waits.js';
import { hopFactory, transportMissing, type Hop, type HopFactory, type Transport } from './helpers/transports.js';
import { createSwitchableLink } from './helpers/switchable-link.js';

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-route-sessions-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

interface Rig {
  sim: SimTarget;
  target: TargetSession;
  guestHop: Hop;
  debuggerHop: Hop;
  route: Route;
  session: DebuggerSession;
  events: RouteEvent[];
  /** Everything the target's own link reported: a reset here would mean the router touched it. */
  targetLinkEvents: LinkEvent[];
  hops: HopFactory;
}

/** DebuggerSession ⇄ debugger hop ⇄ route ⇄ guest hop ⇄ TargetSession + sim-target. */
async function rig(transport: Transport, beforeTarget?: (guestHop: Hop) => void): Promise<Rig> {
  const hops = hopFactory(transport, dir);
  cleanups.push(() => hops.close());
  const guestHop = await hops.guest();
  const debuggerHop = await hops.debugger();
  const r = route(guestHop.near, debuggerHop.near);
  cleanups.push(() => r.close());
  const events = record(r.events$);
  const sim = createSimTarget({ cpus: 2, printIntervalMs: 0 });
  cleanups.push(() => sim.close());
  const targetLinkEvents = record(guestHop.far.events$);
  beforeTarget?.(guestHop);
  const target = createTargetSession(guestHop.far, sim);
  cleanups.push(() => target.close());
  const session = createDebuggerSession(debuggerHop.far, { timeoutMs: 4000 });
  cleanups.push(() => session.close());
  return { sim, target, guestHop, debuggerHop, route: r, session, events, targetLinkEvents, hops };
}

describe.each<Transport>(['memory', 'kdcom+unix'])('route with real sessions over %s', (transport) => {
  beforeEach(({ skip }) => {
    const missing = transportMissing(transport);
    skip(missing !== undefined, missing);
  });

  it('attach, read and verify memory, breakpoint, continue, break-in', async () => {
    const { sim, session, route: r, targetLinkEvents } = await rig(transport);
    const stop = await session.attach({ breakIn: 'never', timeoutMs: 4000 });
    expect(stop.kind).toBe('exception');
    expect(r.target.state).toBe('stopped');

    const version = await session.getVersion();
    expect(version.kernBase).toBe(sim.layout.kernBase);

    // The PE header of nt, then 16 KiB of RAM: chunked by the session, carried by the route, checked against the sim.
    const mz = await session.readVirtual(sim.layout.kernBase, 2);
    expect(String.fromCharCode(...mz.data)).toBe('MZ');
    const base = sim.layout.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 16 * 1024);
    expect(read.bytesRead).toBe(16 * 1024);
    expect(Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(base, 16 * 1024, 0)))).toBe(true);

    const handle = await session.writeBreakpoint(sim.layout.idleLoopJump);
    expect(handle).toBeGreaterThan(0);
    const hit = session.waitForStateChange(4000);
    await session.continue();
    expect(r.target.state === 'running' || r.target.state === 'stopped').toBe(true);
    const bp = await hit;
    expect(bp.kind).toBe('exception');
    expect(bp.programCounter).toBe(sim.layout.idleLoopJump);
    if (bp.kind === 'exception') expect(bp.exceptionCode).toBe(0x80000003);
    expect(await session.restoreBreakpoint(handle)).toBe(0);

    await session.continue();
    await waitFor(() => r.target.state === 'running');
    const broke = await session.breakIn({ timeoutMs: 4000 });
    expect(broke.kind).toBe('exception');
    if (broke.kind === 'exception') expect(broke.exceptionCode).toBe(0x80000003);
    expect(r.target.state).toBe('stopped');

    const stats = r.stats();
    expect(stats.breakins).toBe(1);
    expect(stats.directions['debugger→guest'].packets).toBeGreaterThan(5);
    expect(stats.requestLatencyMs.count).toBeGreaterThan(5);
    expect(stats.requestLatencyMs.p99Ms).toBeGreaterThanOrEqual(stats.requestLatencyMs.p50Ms ?? 0);
    if (transport === 'kdcom+unix') expect(stats.endpoint?.bytesIn).toBeGreaterThan(0);
    // The initial attach RESET was answered by the router; the target never saw one.
    expect(targetLinkEvents.filter((e) => e.kind === 'reset')).toEqual([]);
  });

  it('the target vanishes mid-request: the pending call fails as "target gone", nothing hangs', async () => {
    const doomed = 0xfffff80000400000n;
    // The guest dies the moment this particular request reaches it, before the target can answer
    // (this subscriber runs before the TargetSession's).
    const { session, route: r, events } = await rig(transport, (guestHop) =>
      guestHop.far.events$.subscribe((e) => {
        if (e.kind === 'packet' && e.packet.type === 2 && new DataView(e.packet.payload.buffer, e.packet.payload.byteOffset).getBigUint64(0x10, true) === doomed) {
          void guestHop.kill();
        }
      }),
    );
    await session.attach({ breakIn: 'never' });
    // The router answers the orphaned request with STATUS_PORT_DISCONNECTED; the session turns it
    // into a typed error at once (the test's own timeout is what catches a hang).
    await expect(session.readVirtual(doomed, 64)).rejects.toMatchObject({ code: 'ERR_KD_TARGET_GONE', disconnected: true });
    // The debugger is told the kernel went away (VirtualKD's unload state change), and stays usable.
    await waitFor(() => session.lastStateChange?.kind === 'loadSymbols');
    const unload = session.lastStateChange;
    expect(unload?.kind === 'loadSymbols' && unload.unloadSymbols).toBe(1);
    expect(unload?.kind === 'loadSymbols' && unload.baseOfDll).toBe(0xffffffffffffffffn);
    await expect(session.getVersion()).rejects.toMatchObject({ code: 'ERR_KD_TARGET_GONE' });
    expect(events.some((e) => e.kind === 'target-gone')).toBe(true);
    expect(r.stats().targetPresent).toBe(false);
  });
});

describe.each<Transport>(['memory', 'kdcom+unix'])('debugger reconnects over %s', (transport) => {
  beforeEach(({ skip }) => {
    const missing = transportMissing(transport);
    skip(missing !== undefined, missing);
  });

  it('20 debuggers in a row each get the current state; the target never sees a reset', async () => {
    const hops = hopFactory(transport, dir);
    cleanups.push(() => hops.close());
    const guestHop = await hops.guest();
    // The endpoint that accepts debugger after debugger (dbgeng-pipe's job in the product).
    const endpoint = createSwitchableLink('debugger-facing', 'endpoint');
    const r = route(guestHop.near, endpoint);
    cleanups.push(() => r.close());
    const sim = createSimTarget({ cpus: 2, printIntervalMs: 0 });
    cleanups.push(() => sim.close());
    const targetLinkEvents = record(guestHop.far.events$);
    const target = createTargetSession(guestHop.far, sim);
    cleanups.push(() => target.close());

    let expectedPc: bigint | undefined;
    let bpHandle: number | undefined;
    for (let round = 0; round < 20; round++) {
      const hop = await hops.debugger();
      endpoint.attach(hop.near);
      const session = createDebuggerSession(hop.far, { timeoutMs: 4000 });
      const stop = await session.attach({ breakIn: 'never', timeoutMs: 4000 });
      if (expectedPc !== undefined) expect(stop.programCounter).toBe(expectedPc);
      // Prove the session works: a memory read that must match the sim.
      const address = sim.layout.dataRegion.virtualBase + BigInt(round * 4096);
      const read = await session.readVirtual(address, 64);
      expect(read.bytesRead).toBe(64);
      expect(Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(address, 64, 0)))).toBe(true);
      expect(stop.programCounter).toBe(sim.rip(stop.processor));

      if (round % 5 === 4) {
        // Mid-session activity: run to a breakpoint, so the next debugger must see the new stop.
        bpHandle ??= await session.writeBreakpoint(sim.layout.idleLoopJump);
        const hit = session.waitForStateChange(4000);
        await session.continue();
        expectedPc = (await hit).programCounter;
      } else {
        expectedPc = stop.programCounter;
      }
      await session.close();
      // Every other debugger vanishes abruptly; the rest leave politely.
      if (round % 2 === 0) await hop.kill();
      else await hop.far.close();
      await waitFor(() => !endpoint.connected);
    }

    expect(targetLinkEvents.filter((e) => e.kind === 'reset')).toEqual([]);
    const stats = r.stats();
    expect(stats.debuggerConnects).toBe(20);
    expect(stats.replays).toBeGreaterThanOrEqual(19);
    expect(stats.targetGone).toBe(0);
    expect(sim.stats().stops).toBe(4); // the four breakpoint hits and nothing else: no reconnect resumed the target
  });
});

describe('the guest comes back', () => {
  it('after the guest vanished, a new guest is resynced and the debugger carries on', async () => {
    const hops = hopFactory('memory', dir);
    cleanups.push(() => hops.close());
    const guest = createSwitchableLink('target-facing', 'guest');
    const debuggerHop = await hops.debugger();
    const r = route(guest, debuggerHop.near);
    cleanups.push(() => r.close());
    const events = record(r.events$);
    const session = createDebuggerSession(debuggerHop.far, { timeoutMs: 4000 });
    cleanups.push(() => session.close());

    const first = await hops.guest();
    guest.attach(first.near);
    const sim1 = createSimTarget({ printIntervalMs: 0 });
    const target1 = createTargetSession(first.far, sim1);
    cleanups.push(() => (target1.close(), sim1.close()));
    await session.attach({ breakIn: 'never' });
    await first.kill();
    await waitFor(() => session.lastStateChange?.kind === 'loadSymbols');

    // The VM restarts: a new guest link, a new kernel.
    const second = await hops.guest();
    const sim2 = createSimTarget({ printIntervalMs: 0, cpus: 2 });
    const target2 = createTargetSession(second.far, sim2);
    cleanups.push(() => (target2.close(), sim2.close()));
    guest.attach(second.near);
    await waitFor(() => session.lastStateChange?.kind === 'exception');
    expect(r.target).toMatchObject({ present: true, state: 'stopped' });
    const version = await session.getVersion();
    expect(version.kernBase).toBe(sim2.layout.kernBase);
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['target-gone', 'target-back']));
    expect(session.lastStateChange?.numberProcessors).toBe(2);
    expect(KdApi.GetVersion).toBe(0x3146);
  });
});

async function waitFor(condition: () => boolean, ms = 4000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
