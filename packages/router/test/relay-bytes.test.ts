import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { createKdcomLink, createMemoryBytePair, KdPacketType, type ByteLink, type PacketLink } from '@vmkd/kd-protocol';
import { relayBytes, type ByteRelay, type RelayEvent } from '../src/index.js';
import { breakpointStateChange, readVirtual } from './helpers/packets.js';
import { memorySink } from './helpers/memory-sink.js';
import { nextPacket, record, tick } from './helpers/link-waits.js';
import { listenUnix, unixSocketPair, type UnixSocketServer } from './helpers/socket-byte-link.js';

let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-relay-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** target KDCOM link ⇄ unix socket ⇄ relay ⇄ unix socket ⇄ debugger KDCOM link */
async function relayRig(options: Parameters<typeof relayBytes>[2] = {}): Promise<{
  target: PacketLink;
  debugger: PacketLink;
  relay: ByteRelay;
  guestSide: ByteLink;
  debuggerSide: ByteLink;
}> {
  const guestPair = await unixSocketPair(dir, 'guest.sock');
  const debuggerPair = await unixSocketPair(dir, 'debugger.sock');
  const servers: UnixSocketServer[] = [guestPair.server, debuggerPair.server];
  const [guestSide, targetBytes] = guestPair.links;
  const [debuggerSide, debuggerBytes] = debuggerPair.links;
  const target = createKdcomLink(targetBytes, { role: 'debugger-facing', name: 'target' });
  const dbg = createKdcomLink(debuggerBytes, { role: 'target-facing', name: 'debugger' });
  const relay = relayBytes(guestSide, debuggerSide, { names: ['guest', 'debugger'], ...options });
  cleanups.push(async () => {
    await relay.close();
    await Promise.all([target.close(), dbg.close()]);
    await Promise.all(servers.map((s) => s.close()));
  });
  return { target, debugger: dbg, relay, guestSide, debuggerSide };
}

describe('relayBytes', () => {
  it('carries a KDCOM conversation unchanged over real Unix sockets, terminating nothing', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const { target, debugger: dbg, relay } = await relayRig();
    const stop = nextPacket(dbg, KdPacketType.StateChange64);
    await dbg.resync(); // the RESET exchange runs end to end, through the relay
    await target.send(breakpointStateChange(0x5000n));
    await stop;
    const request = nextPacket(target, KdPacketType.StateManipulate);
    await dbg.send(readVirtual(0x10n, 8));
    await request;
    await tick(20);

    const stats = relay.stats();
    const t = target.stats();
    const d = dbg.stats();
    // Every byte one KDCOM endpoint wrote reached the other, and the relay added none of its own.
    expect(stats.directions['guest→debugger']?.bytes).toBe(t.bytesOut);
    expect(stats.directions['debugger→guest']?.bytes).toBe(d.bytesOut);
    expect(d.bytesIn).toBe(t.bytesOut);
    expect(t.bytesIn).toBe(d.bytesOut);
  });

  it('never acknowledges anything itself', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    // The debugger side is a bare socket that stays silent: nobody ACKs the target's packet.
    const guestPair = await unixSocketPair(dir, 'g.sock');
    const server = await listenUnix(dir, 'd.sock');
    const [silentPeer, debuggerSide] = await Promise.all([server.connect(), server.accept()]);
    const [guestSide, targetBytes] = guestPair.links;
    const target = createKdcomLink(targetBytes, { role: 'debugger-facing', name: 'target', ackTimeoutMs: 50, maxRetries: 3 });
    const relay = relayBytes(guestSide, debuggerSide);
    const heard: number[] = [];
    silentPeer.data$.subscribe((chunk) => heard.push(chunk.byteLength));
    cleanups.push(async () => {
      await relay.close();
      await target.close();
      await silentPeer.close();
      await Promise.all([guestPair.server.close(), server.close()]);
    });
    await expect(target.send(breakpointStateChange(0x5000n))).rejects.toMatchObject({ code: 'ERR_LINK_TIMEOUT' });
    expect(relay.stats().directions['b→a']?.bytes).toBe(0); // not one byte went back toward the target
    expect(target.stats().bytesIn).toBe(0);
    expect(heard.length).toBeGreaterThan(1); // the target retransmitted, and every try got through
  });

  it('taps decoded frames to events$ and a JSONL trace', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const sink = memorySink();
    const { target, debugger: dbg, relay } = await relayRig({ tap: 'both', trace: sink });
    const events: RelayEvent[] = record(relay.events$);
    const stop = nextPacket(dbg, KdPacketType.StateChange64);
    await dbg.breakIn();
    await dbg.resync();
    await target.send(breakpointStateChange(0x6000n));
    await stop;
    await tick(20);
    await relay.close();

    const frames: Record<string, unknown>[] = events.flatMap((e) => (e.kind === 'frame' ? [{ dir: e.dir, ...e.frame }] : []));
    expect(frames).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dir: 'debugger→guest', event: 'breakin' }),
        expect.objectContaining({ dir: 'debugger→guest', event: 'frame', leader: 'control', typeName: 'KD_RESET' }),
        expect.objectContaining({ dir: 'guest→debugger', event: 'frame', leader: 'control', typeName: 'KD_RESET' }),
        expect.objectContaining({ dir: 'guest→debugger', event: 'frame', leader: 'data', typeName: 'KD_STATE_CHANGE64' }),
        expect.objectContaining({ dir: 'debugger→guest', event: 'frame', leader: 'control', typeName: 'KD_ACKNOWLEDGE' }),
      ]),
    );
    const stateChange = frames.find((f) => f.typeName === 'KD_STATE_CHANGE64');
    expect(stateChange?.message).toMatchObject({ state: 'Exception' });
    expect(events.some((e) => e.kind === 'chunk' && e.hex.length === e.length * 2)).toBe(true);
    const lines = sink.lines();
    expect(lines.length).toBe(events.length);
    expect(lines.at(-1)?.kind).toBe('relay-ended');
  });

  it('ends when one side closes, and closes the other', async () => {
    const [a, peerA] = createMemoryBytePair();
    const [b, peerB] = createMemoryBytePair();
    const relay = relayBytes(a, b);
    const ended = record(peerB.data$);
    let bCompleted = false;
    peerB.data$.subscribe({ complete: () => (bCompleted = true) });
    await peerA.write(new Uint8Array([1, 2, 3]));
    await tick(1);
    await peerA.close();
    await relay.done;
    await tick(1);
    expect(ended.map((c) => [...c])).toEqual([[1, 2, 3]]);
    expect(bCompleted).toBe(true);
    expect(relay.stats().error).toBeUndefined();
  });

  it('stops with ERR_ROUTER_RELAY_OVERFLOW rather than drop bytes when a side stops taking them', async () => {
    const [a, peerA] = createMemoryBytePair();
    // A writer that never finishes a write: a wedged pipe.
    const wedged: ByteLink = {
      name: 'wedged',
      data$: new Subject<Uint8Array>().asObservable(),
      write: () => new Promise<void>(() => undefined),
      close: () => Promise.resolve(),
      stats: () => ({ bytesIn: 0, bytesOut: 0, chunksIn: 0, chunksOut: 0 }),
    };
    const relay = relayBytes(a, wedged, { maxBufferedBytes: 1024 });
    // Writes after the relay gave up fail (it closed its side): that is the point.
    for (let i = 0; i < 8; i++) await peerA.write(new Uint8Array(256)).catch(() => undefined);
    await relay.done;
    expect(relay.stats().error?.code).toBe('ERR_ROUTER_RELAY_OVERFLOW');
    expect(relay.stats().directions['a→b']?.maxQueuedBytes).toBeLessThanOrEqual(1024 + 256);
  });
});
