import { createDebuggerSession, type DebuggerSession, type LinkEvent } from '@vmkd/kd-protocol';
import { createSimTarget, type SimTarget } from '@vmkd/sim-target';
import { afterEach, describe, expect, it } from 'vitest';
import { createKdnetEndpointLink, createTargetSession, openTargetOverKdnet, type TargetOverKdnet } from './kit.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(options: Parameters<typeof openTargetOverKdnet>[1] = {}): Promise<{ sim: SimTarget; pair: TargetOverKdnet; session: DebuggerSession; events: LinkEvent[] }> {
  const sim = createSimTarget({ cpus: 2, printIntervalMs: 0 });
  cleanups.push(() => sim.close());
  const pair = await openTargetOverKdnet(sim, { pokeIntervalMs: 200, ...options });
  cleanups.push(() => pair.close());
  const events: LinkEvent[] = [];
  pair.link.events$.subscribe((e) => events.push(e));
  const session = createDebuggerSession(pair.link, { timeoutMs: 8000 });
  cleanups.push(() => session.close());
  return { sim, pair, session, events };
}

async function until(condition: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the virtual kernel over KDNET on real loopback UDP', () => {
  it('attach, read and verify 256 KiB, breakpoint, continue, break-in', async () => {
    const { sim, pair, session } = await rig();
    await until(() => pair.link.connected, 'the KDNET handshake');
    const stop = await session.attach({ timeoutMs: 8000 });
    expect(stop.kind).toBe('exception');
    const version = await session.getVersion();
    expect(version.kernBase).toBe(sim.layout.kernBase);
    const base = sim.layout.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 256 * 1024);
    expect(read.bytesRead).toBe(256 * 1024);
    expect(Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(base, 256 * 1024, 0)))).toBe(true);

    const handle = await session.writeBreakpoint(sim.layout.idleLoopJump);
    const hit = session.waitForStateChange(8000);
    await session.continue();
    const bp = await hit;
    expect(bp.programCounter).toBe(sim.layout.idleLoopJump);
    expect(await session.restoreBreakpoint(handle)).toBe(0);
    await session.continue();
    const broke = await session.breakIn({ timeoutMs: 8000 });
    expect(broke.kind === 'exception' && broke.exceptionCode).toBe(0x80000003);

    const guest = pair.link.kdnetStats();
    expect(guest.sessions).toBe(1);
    expect(guest.breakins).toBe(1);
    // A poke the target (every 200 ms here) repeated before our response reached it is dropped as a
    // replay, which a busy machine makes likely; nothing else may be dropped.
    const { replay, ...drops } = guest.drops;
    expect(Object.values(drops).reduce((a, b) => a + b, 0)).toBe(0);
    expect(replay).toBeLessThanOrEqual(pair.targetLink.kdnetStats().pokes);
    expect(pair.targetLink.kdnetStats().breakins).toBe(1);
  });

  it('a 4000-byte read request is answered correctly when the target replies with ~1 KiB (what Windows sends)', async () => {
    const { sim, session } = await rig({ session: { maxReplyPayload: 1024 } });
    await session.attach({ timeoutMs: 8000 });
    const base = sim.layout.dataRegion.virtualBase + 123n;
    const one = await session.readVirtual(base, 3944, { chunkSize: 3944 });
    expect(one.bytesRead).toBeGreaterThan(0);
    expect(Buffer.from(one.data).equals(Buffer.from(sim.readVirtual(base, one.bytesRead, 0)))).toBe(true);
    const big = await session.readVirtual(base, 64 * 1024);
    expect(big.bytesRead).toBe(64 * 1024);
    expect(Buffer.from(big.data).equals(Buffer.from(sim.readVirtual(base, 64 * 1024, 0)))).toBe(true);
  });

  it('over IPv6 loopback too', async () => {
    const { sim, session } = await rig({ host: '::1' });
    await session.attach({ timeoutMs: 8000 });
    const base = sim.layout.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 8192);
    expect(Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(base, 8192, 0)))).toBe(true);
  });

  it('a guest reboot (a new target poking with port 0) is reported as disconnect then connect, and the session goes on', async () => {
    const { sim, pair, session, events } = await rig();
    await session.attach({ timeoutMs: 8000 });
    // The target "reboots": its KDNET end goes away and a fresh one (new port, new nonce, port 0) pokes.
    await pair.session.close();
    await pair.targetLink.close();
    const reborn = await createKdnetEndpointLink({ key: pair.key, debugger: pair.link.local, pokeIntervalMs: 200 });
    cleanups.push(() => reborn.close());
    const served = createTargetSession(reborn, sim);
    cleanups.push(() => served.close());
    await until(() => events.filter((e) => e.kind === 'connect').length === 2, 'the second connect');
    const kinds = events.filter((e) => e.kind !== 'packet').map((e) => e.kind);
    expect(kinds).toEqual(['connect', 'disconnect', 'connect']);
    const gone = events.find((e) => e.kind === 'disconnect');
    expect(gone?.kind === 'disconnect' && gone.error?.details.reason).toBe('reboot');
    const stop = await session.attach({ timeoutMs: 8000 });
    expect(stop.kind).toBe('exception');
    const base = sim.layout.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 4096);
    expect(Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(base, 4096, 0)))).toBe(true);
    expect(pair.link.kdnetStats().sessions).toBe(2);
  });
});
