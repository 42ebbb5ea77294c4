import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDebuggerSession, createTargetSession, KdPacketType, type LinkEvent } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import { route } from '../src/index.js';
import { nextPacket, record, tick } from './helpers/link-waits.js';
import { hopFactory, transportMissing, type Transport } from './helpers/transports.js';

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-route-late-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The route starts after the target has already reported its stop (vmkd started, or its endpoint
 * bound, while the VM sat at a break): the router has no state change to replay. A debugger that
 * attaches must still get the target's state change for its RESET, as it would when connected
 * straight to the target, not fall back to breaking in.
 */
describe.each<Transport>(['memory', 'kdcom+unix'])('a route started after the target stopped, over %s', (transport) => {
  beforeEach(({ skip }) => {
    const missing = transportMissing(transport);
    skip(missing !== undefined, missing);
  });

  it('asks the target to re-send its state change when a debugger resets: attach sends no break-in', async () => {
    const hops = hopFactory(transport, dir);
    cleanups.push(() => hops.close());
    const guestHop = await hops.guest();
    const sim = createSimTarget({ cpus: 1, printIntervalMs: 0 });
    cleanups.push(() => sim.close());
    const targetLinkEvents: LinkEvent[] = record(guestHop.far.events$);
    const target = createTargetSession(guestHop.far, sim);
    cleanups.push(() => target.close());
    // The target's first stop crosses the guest link before any route listens to it.
    await nextPacket(guestHop.near, KdPacketType.StateChange64);
    await tick(5);

    const debuggerHop = await hops.debugger();
    const r = route(guestHop.near, debuggerHop.near);
    cleanups.push(() => r.close());
    expect(r.target.state).toBe('unknown');
    const session = createDebuggerSession(debuggerHop.far, { timeoutMs: 4000 });
    cleanups.push(() => session.close());

    const stop = await session.attach({ timeoutMs: 4000 }); // breakIn 'auto': a break-in would follow a missing state change
    expect(stop.kind).toBe('exception');
    expect(stop.programCounter).toBe(sim.rip(stop.processor));
    // The state change answered the RESET: no break-in was ever sent, and the target stayed stopped.
    expect(debuggerHop.far.stats().breakins).toBe(0);
    expect(r.stats().breakins).toBe(0);
    expect(sim.stats().stops).toBe(0); // still the initial stop: nothing resumed or re-stopped it
    expect(r.target.state).toBe('stopped');
    // The session works through the route.
    const base = sim.layout.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 64);
    expect(Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(base, 64, 0)))).toBe(true);

    // A second debugger RESET is answered from the router's cache now: the target sees one reset in all.
    await session.attach({ breakIn: 'never', timeoutMs: 4000 });
    expect(targetLinkEvents.filter((e) => e.kind === 'reset')).toHaveLength(1);
  });
});
