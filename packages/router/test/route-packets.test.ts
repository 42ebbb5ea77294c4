import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryPacketPair, decodeManipulate, decodeWaitStateChange, KdApi, KdPacketType, type KdPacket, type MemoryPacketLink } from '@vmkd/kd-protocol';
import { route, TARGET_GONE_STATUS, isTargetGoneStateChange, type Route, type RouteEvent } from '../src/index.js';
import { breakpointStateChange, continueRequest, print, readVirtual } from './helpers/packets.js';
import { nextEvent, nextPacket, record, tick } from './helpers/link-waits.js';

/**
 * The router between real in-memory packet links, driven packet by packet: `target` is what the
 * guest kernel holds, `debugger` what the debugger holds.
 */
interface Rig {
  target: MemoryPacketLink;
  debugger: MemoryPacketLink;
  route: Route;
  events: RouteEvent[];
}

let rigs: Rig[] = [];

function rig(options: Parameters<typeof route>[2] = {}): Rig {
  const [guest, target] = createMemoryPacketPair({ names: ['guest', 'target'] });
  const [debuggerEnd, endpoint] = createMemoryPacketPair({ names: ['debugger', 'endpoint'] });
  const r = route(guest, endpoint, options);
  const made = { target, debugger: debuggerEnd, route: r, events: record(r.events$) };
  rigs.push(made);
  return made;
}

function addressOf(packet: KdPacket): bigint {
  const m = decodeManipulate(packet.payload);
  return m.layout === 'readMemory' ? m.targetBaseAddress : -1n;
}

/** The target reports a stop and the debugger receives it (subscribed before the send: no race). */
async function stopAt(target: MemoryPacketLink, dbg: MemoryPacketLink, stateChange: KdPacket): Promise<void> {
  const seen = nextPacket(dbg, KdPacketType.StateChange64);
  await target.send(stateChange);
  await seen;
}

afterEach(async () => {
  await Promise.all(rigs.map((r) => r.route.close()));
  rigs = [];
});

describe('route over memory packet pairs', () => {
  it('forwards packets both ways, in order, and counts them', async () => {
    const { target, debugger: dbg, route: r } = rig();
    const got = nextPacket(dbg, KdPacketType.StateChange64);
    await target.send(breakpointStateChange(0xfffff80000401000n));
    expect(decodeWaitStateChange((await got).payload).programCounter).toBe(0xfffff80000401000n);
    expect(r.target.state).toBe('stopped');

    const requests: number[] = [];
    target.events$.subscribe((e) => {
      if (e.kind === 'packet') requests.push(Number(decodeManipulate(e.packet.payload).apiNumber));
    });
    for (const address of [0x1000n, 0x2000n, 0x3000n]) await dbg.send(readVirtual(address, 16));
    await tick(5);
    expect(requests).toEqual([KdApi.ReadVirtualMemory, KdApi.ReadVirtualMemory, KdApi.ReadVirtualMemory]);

    const stats = r.stats();
    expect(stats.directions['guest→debugger'].packets).toBe(1);
    expect(stats.directions['debugger→guest'].packets).toBe(3);
    expect(stats.directions['debugger→guest'].bytes).toBe(3 * 56);
    expect(stats.guest?.packetsIn).toBe(1);
    expect(stats.endpoint?.packetsIn).toBe(3);
  });

  it('measures request→reply latency', async () => {
    const { target, debugger: dbg, route: r } = rig();
    await target.send(breakpointStateChange(0x1000n));
    target.events$.subscribe((e) => {
      if (e.kind === 'packet') setTimeout(() => void target.send(e.packet), 20); // echo as the reply, 20 ms later
    });
    for (let i = 0; i < 3; i++) {
      const reply = nextPacket(dbg, KdPacketType.StateManipulate);
      await dbg.send(readVirtual(0x1000n, 8));
      await reply;
    }
    const latency = r.stats().requestLatencyMs;
    expect(latency.count).toBe(3);
    expect(latency.p50Ms).toBeGreaterThanOrEqual(15); // a lower bound only: timers never fire early by much
  });

  it('forwards a break-in to the target ahead of queued packets', async () => {
    const { target, debugger: dbg, events } = rig();
    const seen: string[] = [];
    target.events$.subscribe((e) => seen.push(e.kind === 'packet' ? `p${addressOf(e.packet)}` : e.kind));
    // Three requests queue up (the first in flight); the break-in overtakes the two waiting ones.
    void dbg.send(readVirtual(1n, 8));
    void dbg.send(readVirtual(2n, 8));
    void dbg.send(readVirtual(3n, 8));
    await dbg.breakIn();
    await tick(5);
    const packets = seen.filter((s) => s.startsWith('p'));
    expect(packets).toEqual(['p1', 'p2', 'p3']);
    expect(seen.indexOf('breakin')).toBeGreaterThan(-1);
    expect(seen.indexOf('breakin')).toBeLessThan(seen.indexOf('p3'));
    expect(events.some((e) => e.kind === 'link' && e.event === 'breakin' && e.side === 'endpoint')).toBe(true);
  });

  it('replays the last state change on a debugger RESET without touching the target', async () => {
    const { target, debugger: dbg, route: r } = rig();
    const targetEvents = record(target.events$);
    await stopAt(target, dbg, breakpointStateChange(0x4000n));
    await dbg.send(readVirtual(0x10n, 8)); // the debugger acts, then resynchronises
    const again = nextPacket(dbg, KdPacketType.StateChange64);
    await dbg.resync();
    expect(decodeWaitStateChange((await again).payload).programCounter).toBe(0x4000n);
    await tick(5);
    expect(targetEvents.filter((e) => e.kind === 'reset')).toEqual([]);
    expect(r.stats().replays).toBe(1);
  });

  it('answers every RESET with the state change, as a stopped target would, but never stacks replays', async () => {
    const { target, debugger: dbg, route: r } = rig();
    const targetEvents = record(target.events$);
    await stopAt(target, dbg, breakpointStateChange(0x4000n));
    const got = record(dbg.events$);
    for (let i = 0; i < 2; i++) {
      const replayed = nextPacket(dbg, KdPacketType.StateChange64);
      await dbg.resync();
      await replayed;
    }
    // A burst of RESETs while one replay is still on its way is answered by that one replay.
    await Promise.all([dbg.resync(), dbg.resync(), dbg.resync()]);
    await tick(5);
    expect(got.filter((e) => e.kind === 'packet')).toHaveLength(3);
    expect(r.stats().replays).toBe(3);
    expect(targetEvents.filter((e) => e.kind === 'reset')).toEqual([]);
  });

  it('tracks running after a continue and replays nothing then', async () => {
    const { target, debugger: dbg, route: r } = rig();
    await stopAt(target, dbg, breakpointStateChange(0x4000n));
    await dbg.send(continueRequest());
    await tick(2);
    expect(r.target.state).toBe('running');
    const after = record(dbg.events$);
    await dbg.resync();
    await tick(5);
    expect(after.filter((e) => e.kind === 'packet')).toEqual([]);
  });

  it('fails the pending request and tells the debugger when the target vanishes', async () => {
    const { target, debugger: dbg, route: r, events } = rig();
    await stopAt(target, dbg, breakpointStateChange(0x4000n, 1));
    const got = record(dbg.events$);
    const requestSeen = nextPacket(target);
    await dbg.send(readVirtual(0x10n, 8));
    await requestSeen;
    target.disconnect(); // the guest vanishes with the request unanswered
    await nextPacket(dbg, KdPacketType.StateChange64);
    const packets = got.flatMap((e) => (e.kind === 'packet' ? [e.packet] : []));
    expect(packets.map((p) => p.type)).toEqual([KdPacketType.StateManipulate, KdPacketType.StateChange64]);
    const reply = decodeManipulate(packets[0].payload);
    expect(reply.apiNumber).toBe(KdApi.ReadVirtualMemory);
    expect(reply.returnStatus).toBe(TARGET_GONE_STATUS);
    expect(isTargetGoneStateChange(packets[1])).toBe(true);
    const unload = decodeWaitStateChange(packets[1].payload);
    expect(unload.kind).toBe('loadSymbols');
    expect(unload.processor).toBe(1); // copied from the last real state change
    expect(events.some((e) => e.kind === 'target-gone' && e.failedRequest)).toBe(true);
    expect(r.stats().targetGone).toBe(1);
    expect(r.target.present).toBe(false);

    // While gone: further requests are answered with the failure at once, nothing hangs.
    const next = nextPacket(dbg, KdPacketType.StateManipulate);
    await dbg.send(readVirtual(0x20n, 8));
    expect(decodeManipulate((await next).payload).returnStatus).toBe(TARGET_GONE_STATUS);
  });

  it('fails a request still in flight when the target vanishes', async () => {
    const { target, debugger: dbg } = rig();
    await stopAt(target, dbg, breakpointStateChange(0x4000n));
    target.disconnect();
    const reply = nextPacket(dbg, KdPacketType.StateManipulate);
    await dbg.send(readVirtual(0x10n, 8));
    expect(decodeManipulate((await reply).payload).returnStatus).toBe(TARGET_GONE_STATUS);
  });

  it('while the target is gone, a break-in after a continue brings the unload state change back', async () => {
    const { target, debugger: dbg, route: r } = rig();
    await stopAt(target, dbg, breakpointStateChange(0x4000n));
    const unload = nextPacket(dbg, KdPacketType.StateChange64);
    target.disconnect();
    expect(isTargetGoneStateChange(await unload)).toBe(true);
    await dbg.send(continueRequest()); // the debugger resumes the "unloaded" kernel
    await tick(2);
    expect(r.target.state).toBe('running');
    const again = nextPacket(dbg, KdPacketType.StateChange64);
    await dbg.breakIn();
    expect(isTargetGoneStateChange(await again)).toBe(true);
    expect(r.stats().syntheticStateChanges).toBe(2);
  });

  it('forwards DbgPrint text while the target runs', async () => {
    const { target, debugger: dbg, events } = rig();
    const got = nextPacket(dbg, KdPacketType.DebugIo);
    await target.send(print('hello from the kernel\n'));
    await got;
    const record = events.find((e) => e.kind === 'packet' && e.dir === 'guest→debugger');
    expect(record).toMatchObject({ typeName: 'KD_DEBUG_IO', origin: 'forwarded', decoded: { text: 'hello from the kernel\n' } });
  });

  it('closes both links, completes events$ and settles done', async () => {
    const { target, debugger: dbg, route: r } = rig();
    const ended = nextEvent(dbg, 'disconnect');
    let completed = false;
    r.events$.subscribe({ complete: () => (completed = true) });
    await r.close();
    await r.done;
    expect(completed).toBe(true);
    await ended;
    expect(target.connected).toBe(false);
  });

  it('can leave the links open', async () => {
    const [guest] = createMemoryPacketPair();
    const [, endpoint] = createMemoryPacketPair();
    const r = route(guest, endpoint, { closeLinks: false });
    await r.close();
    expect(guest.connected).toBe(true);
    expect(endpoint.connected).toBe(true);
    await Promise.all([guest.close(), endpoint.close()]);
  });

  it('refuses a queue bound below 1', () => {
    const [guest] = createMemoryPacketPair();
    const [, endpoint] = createMemoryPacketPair();
    expect(() => route(guest, endpoint, { queueBound: 0 })).toThrow(expect.objectContaining({ code: 'ERR_ROUTER_BAD_OPTION' }));
  });
});
