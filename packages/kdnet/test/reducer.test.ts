import { KdPacketType, LinkErrorCode, VmkdError, type LinkEvent } from '@vmkd/kd-protocol';
import { describe, expect, it } from 'vitest';
import {
  KdnetChannel,
  KdnetDirection,
  decodeDatagram,
  encodeDatagram,
  encodeKdControl,
  encodeKdData,
  encodePoke,
  initialKdnetState,
  parseKdFrame,
  parseKdnetKey,
  reduceKdnet,
  type KdnetConfig,
  type KdnetEvent,
  type KdnetState,
  type UdpAddress,
} from '../src/index.js';

const keys = parseKdnetKey('1.2.3.4');
const GUEST: UdpAddress = { address: '127.0.0.1', port: 50000 };
const TARGET: UdpAddress = { address: '127.0.0.1', port: 50001 };

function counter(seed: number): (n: number) => Uint8Array {
  let x = seed;
  return (n) => Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) & 0xff);
}

function config(role: 'guest' | 'endpoint', seed: number): KdnetConfig {
  return {
    role,
    keys,
    random: counter(seed),
    ackTimeoutMs: 100,
    maxRetries: 3,
    connectWaitMs: 2000,
    maxPayload: 4000,
    pokeIntervalMs: 1000,
    peerTimeoutMs: 5000,
    version: 2,
    ...(role === 'endpoint' ? { peer: GUEST, local: TARGET } : {}),
  };
}

/** One side: its state and what it emitted. */
class Side {
  state: KdnetState;
  readonly events: LinkEvent[] = [];
  readonly settled = new Map<number, VmkdError | undefined>();
  out: { bytes: Uint8Array; to: UdpAddress }[] = [];
  constructor(cfg: KdnetConfig) {
    this.state = initialKdnetState(cfg);
  }
  feed(event: KdnetEvent): void {
    const step = reduceKdnet(this.state, event);
    this.state = step.state;
    for (const e of step.effects) {
      if (e.kind === 'transmit') this.out.push({ bytes: e.bytes, to: e.to });
      else if (e.kind === 'event') this.events.push(e.event);
      else if (e.kind === 'settle') this.settled.set(e.token, e.error);
    }
  }
  take(): Uint8Array[] {
    const bytes = this.out.map((o) => o.bytes);
    this.out = [];
    return bytes;
  }
  kinds(): string[] {
    return this.events.map((e) => (e.kind === 'packet' ? `packet:${e.packet.type}` : e.kind));
  }
}

/** Delivers everything in flight both ways until quiet; `lose` drops datagrams by index. */
function pump(guest: Side, target: Side, now: number, lose: (n: number) => boolean = () => false): void {
  let n = 0;
  for (let round = 0; round < 50; round++) {
    const a = guest.take();
    const b = target.take();
    if (a.length === 0 && b.length === 0) return;
    for (const bytes of a) if (!lose(n++)) target.feed({ kind: 'datagram', bytes, from: GUEST, now });
    for (const bytes of b) if (!lose(n++)) guest.feed({ kind: 'datagram', bytes, from: TARGET, now });
  }
}

function connected(): { guest: Side; target: Side } {
  const guest = new Side(config('guest', 1));
  const target = new Side(config('endpoint', 2));
  target.feed({ kind: 'tick', now: 0 });
  pump(guest, target, 0);
  return { guest, target };
}

const request = (tag: number, size = 56): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i === 12 ? tag : (i * 3 + tag) & 0xff));

describe('the KDNET reducer, both roles against each other (virtual time, no sockets)', () => {
  it('poke → response → connection check → RESEND: both connected, the guest answered once', () => {
    const { guest, target } = connected();
    expect(guest.kinds()).toEqual(['connect']);
    expect(target.kinds()).toEqual(['connect']);
    expect(guest.state.stats.sessions).toBe(1);
    expect(target.state.stats.drops).toEqual(guest.state.stats.drops);
    expect(Object.values(guest.state.stats.drops).every((v) => v === 0)).toBe(true);
  });

  it('a keep-alive poke (host port set) is not answered while the session is up', () => {
    const { guest, target } = connected();
    target.feed({ kind: 'tick', now: 1000 });
    const pokes = target.take();
    expect(pokes).toHaveLength(1);
    guest.feed({ kind: 'datagram', bytes: pokes[0], from: TARGET, now: 1000 });
    expect(guest.take()).toHaveLength(0);
    expect(guest.state.stats.keepAlives).toBe(1);
  });

  it('data both ways with ids counting by two; a lost ACK makes a retransmission that is ACKed, not delivered twice', () => {
    const { guest, target } = connected();
    guest.feed({ kind: 'send', token: 1, packet: { type: KdPacketType.StateManipulate, payload: request(1) }, now: 10 });
    // Lose the target's ACK (the first datagram coming back).
    const toTarget = guest.take();
    for (const bytes of toTarget) target.feed({ kind: 'datagram', bytes, from: GUEST, now: 10 });
    target.take();
    expect(guest.settled.has(1)).toBe(false);
    guest.feed({ kind: 'tick', now: 200 });
    pump(guest, target, 200);
    expect(guest.settled.get(1)).toBeUndefined();
    expect(guest.settled.has(1)).toBe(true);
    expect(target.kinds()).toEqual(['connect', `packet:${KdPacketType.StateManipulate}`]);
    expect(target.state.stats.duplicates).toBe(1);
    guest.feed({ kind: 'send', token: 2, packet: { type: KdPacketType.StateManipulate, payload: request(2) }, now: 300 });
    pump(guest, target, 300);
    expect(guest.state.nextSendId).toBe(0x80000004);
    target.feed({ kind: 'send', token: 9, packet: { type: KdPacketType.StateManipulate, payload: request(2) }, now: 300 });
    pump(guest, target, 300);
    expect(target.settled.has(9)).toBe(true);
    expect(target.state.nextSendId).toBe(2);
  });

  it('a replayed datagram is dropped as a replay; a forged one fails its HMAC; neither delivers anything', () => {
    const { guest, target } = connected();
    guest.feed({ kind: 'send', token: 1, packet: { type: KdPacketType.StateManipulate, payload: request(1) }, now: 10 });
    const [sent] = guest.take();
    target.feed({ kind: 'datagram', bytes: sent, from: GUEST, now: 10 });
    target.feed({ kind: 'datagram', bytes: sent, from: GUEST, now: 11 });
    expect(target.state.stats.drops.replay).toBe(1);
    const forged = sent.slice();
    forged[forged.length - 20] ^= 0x40;
    target.feed({ kind: 'datagram', bytes: forged, from: GUEST, now: 12 });
    expect(target.state.stats.drops.hmac).toBe(1);
    expect(target.kinds().filter((k) => k.startsWith('packet'))).toHaveLength(1);
  });

  it('a reboot (a poke with port 0 from the same address) is reported as disconnect then connect, with a new key', () => {
    const { guest } = connected();
    const oldKey = guest.state.dataKey;
    guest.feed({ kind: 'send', token: 5, packet: { type: KdPacketType.StateManipulate, payload: request(5) }, now: 10 });
    const body = encodePoke(Uint8Array.from({ length: 32 }, (_, i) => 200 - i), TARGET, GUEST, 0);
    const poke = encodeDatagram({ version: 4, channel: KdnetChannel.Control, sequence: 1, direction: KdnetDirection.ToDebugger, body }, keys.controlKey, keys.hmacKey);
    guest.feed({ kind: 'datagram', bytes: poke, from: { address: '127.0.0.1', port: 50123 }, now: 20 });
    expect(guest.kinds()).toEqual(['connect', 'disconnect', 'connect']);
    expect(guest.settled.get(5)).toMatchObject({ code: LinkErrorCode.Disconnected });
    expect(guest.state.dataKey).not.toEqual(oldKey);
    expect(guest.state.version).toBe(4);
    expect(guest.state.peer).toEqual({ address: '127.0.0.1', port: 50123 });
    // The same poke again is a replay, not a second reboot.
    guest.feed({ kind: 'datagram', bytes: poke, from: { address: '127.0.0.1', port: 50123 }, now: 21 });
    expect(guest.kinds()).toHaveLength(3);
    // Its response is built from the poke: the target can derive the same data key.
    const response = decodeDatagram(guest.take().at(-1)!, () => keys.controlKey, keys.hmacKey);
    expect(response.ok && response.sequence).toBe(1);
  });

  it('a poke the target sent before our response reached it is not a reboot; after the window, a port-0 poke is', () => {
    const guest = new Side(config('guest', 1));
    const target = new Side(config('endpoint', 2));
    // The target pokes twice before anything comes back (its timer is short, the host is slow).
    target.feed({ kind: 'tick', now: 0 });
    target.feed({ kind: 'tick', now: 1000 });
    const [first, second] = target.take();
    expect(second).toBeDefined();
    guest.feed({ kind: 'datagram', bytes: first, from: TARGET, now: 1010 });
    guest.feed({ kind: 'datagram', bytes: second, from: TARGET, now: 1030 });
    expect(guest.kinds()).toEqual(['connect']);
    expect(guest.state.stats.drops.replay).toBe(1);
    // The target takes the one response and opens the data channel with it: one session each side.
    pump(guest, target, 1040);
    expect(target.kinds()).toEqual(['connect']);
    expect(guest.state.stats.sessions).toBe(1);
    // A port-0 poke long after, with no data in between, is a new session (the response was lost, or a reboot).
    const fresh = new Side(config('guest', 3));
    const late = new Side(config('endpoint', 4));
    late.feed({ kind: 'tick', now: 0 });
    const [p1] = late.take();
    fresh.feed({ kind: 'datagram', bytes: p1, from: TARGET, now: 0 });
    late.feed({ kind: 'tick', now: 3000 });
    const [p2] = late.take();
    fresh.feed({ kind: 'datagram', bytes: p2, from: TARGET, now: 3000 });
    expect(fresh.kinds()).toEqual(['connect', 'disconnect', 'connect']);
  });

  it('the endpoint keeps poking: a debugger that comes back (fresh, no session) answers a keep-alive and gets a new session', () => {
    const { target } = connected();
    const comeback = new Side(config('guest', 7));
    target.feed({ kind: 'tick', now: 1000 });
    const [keepAlive] = target.take();
    comeback.feed({ kind: 'datagram', bytes: keepAlive, from: TARGET, now: 1000 });
    expect(comeback.kinds()).toEqual(['connect']);
    pump(comeback, target, 1000);
    expect(target.kinds()).toEqual(['connect', 'disconnect', 'connect']);
    expect(target.state.stats.sessions).toBe(2);
    // The old debugger's session is gone: its key no longer opens anything.
    comeback.feed({ kind: 'send', token: 1, packet: { type: KdPacketType.StateManipulate, payload: request(1) }, now: 1001 });
    pump(comeback, target, 1001);
    expect(target.kinds().at(-1)).toBe(`packet:${KdPacketType.StateManipulate}`);
  });

  it('a poke from another address does not take over a live session', () => {
    const { guest } = connected();
    const body = encodePoke(new Uint8Array(32).fill(9), TARGET, GUEST, 0);
    const poke = encodeDatagram({ version: 2, channel: 1, sequence: 5, direction: 0, body }, keys.controlKey, keys.hmacKey);
    guest.feed({ kind: 'datagram', bytes: poke, from: { address: '127.0.0.9', port: 50001 }, now: 5 });
    expect(guest.kinds()).toEqual(['connect']);
    expect(guest.state.stats.drops.unexpected).toBe(1);
  });

  it('the guest reports a target silent for peerTimeoutMs as gone', () => {
    const { guest } = connected();
    guest.feed({ kind: 'tick', now: 4999 });
    expect(guest.kinds()).toEqual(['connect']);
    guest.feed({ kind: 'tick', now: 5000 });
    expect(guest.kinds()).toEqual(['connect', 'disconnect']);
    expect(guest.state.dataKey).toBeUndefined();
  });

  it('break-in is a one-byte KD datagram; resync is a RESET exchange; the target reports both', () => {
    const { guest, target } = connected();
    guest.feed({ kind: 'breakin', now: 1 });
    const [bytes] = guest.take();
    const opened = decodeDatagram(bytes, () => target.state.dataKey, keys.hmacKey);
    expect(opened.ok && parseKdFrame(opened.body)).toEqual({ kind: 'breakin' });
    target.feed({ kind: 'datagram', bytes, from: GUEST, now: 1 });
    guest.feed({ kind: 'resync', token: 3, now: 2 });
    pump(guest, target, 2);
    expect(guest.settled.has(3)).toBe(true);
    expect(target.kinds()).toEqual(['connect', 'breakin', 'reset']);
  });

  it('the endpoint treats a repeated request id as a duplicate and re-sends the reply it has in flight', () => {
    const { guest, target } = connected();
    guest.feed({ kind: 'send', token: 1, packet: { type: KdPacketType.StateManipulate, payload: request(1) }, now: 10 });
    pump(guest, target, 10);
    target.feed({ kind: 'send', token: 7, packet: { type: KdPacketType.StateManipulate, payload: request(1, 100) }, now: 11 });
    target.take(); // the reply is lost
    // The debugger repeats its request (same KD id, fresh sequence), as WinDbg does after ~0.5 s.
    const again = encodeDatagram(
      { version: 2, channel: 0, sequence: guest.state.sendSeq, direction: KdnetDirection.ToTarget, body: encodeKdData(KdPacketType.StateManipulate, 0x80000000, request(1)) },
      target.state.dataKey!,
      keys.hmacKey,
    );
    guest.state = { ...guest.state, sendSeq: guest.state.sendSeq + 1 };
    target.feed({ kind: 'datagram', bytes: again, from: GUEST, now: 600 });
    expect(target.state.stats.duplicates).toBe(1);
    pump(guest, target, 600);
    expect(target.kinds().filter((k) => k.startsWith('packet'))).toHaveLength(1);
    expect(target.settled.has(7)).toBe(true);
    expect(guest.kinds().filter((k) => k.startsWith('packet'))).toHaveLength(1);
  });

  it('the endpoint takes radare2\'s ACK, the id with bit 11 cleared, once its KD ids reach 0x800 (kd-protocol.md §1.5)', () => {
    const { target } = connected();
    target.take();
    // The target's 1,025th packet carries id 0x800; radare2 ACKs every packet with `id & ~0x800`.
    target.state = { ...target.state, nextSendId: 0x800 };
    target.feed({ kind: 'send', token: 5, packet: { type: KdPacketType.StateManipulate, payload: request(5) }, now: 0 });
    const sent = target.take().map((bytes) => decodeDatagram(bytes, () => target.state.dataKey, keys.hmacKey));
    expect(sent.map((d) => (d.ok ? parseKdFrame(d.body) : undefined))).toMatchObject([{ kind: 'data', id: 0x800 }]);
    const ack = encodeDatagram(
      { version: 2, channel: 0, sequence: 1000, direction: KdnetDirection.ToTarget, body: encodeKdControl(KdPacketType.Acknowledge, 0x800 & ~0x800) },
      target.state.dataKey!,
      keys.hmacKey,
    );
    target.feed({ kind: 'datagram', bytes: ack, from: GUEST, now: 1 });
    expect(target.settled.has(5)).toBe(true);
    expect(target.settled.get(5)).toBeUndefined();
    expect(target.state.nextSendId).toBe(0x802);
    // Ids go on past it without a retransmission.
    for (let t = 100; t <= 400; t += 100) target.feed({ kind: 'tick', now: t });
    expect(target.state.stats.resends).toBe(0);
  });

  it('the sequence never rewinds: across a reboot the guest keeps counting up', () => {
    const { guest } = connected();
    const before = guest.state.sendSeq;
    const body = encodePoke(new Uint8Array(32).fill(3), TARGET, GUEST, 0);
    const poke = encodeDatagram({ version: 2, channel: 1, sequence: 5, direction: 0, body }, keys.controlKey, keys.hmacKey);
    guest.feed({ kind: 'datagram', bytes: poke, from: TARGET, now: 5 });
    guest.feed({ kind: 'breakin', now: 6 });
    expect(guest.state.sendSeq).toBeGreaterThan(before);
  });

  it('an unacknowledged packet is retransmitted maxRetries times, then fails with ERR_LINK_TIMEOUT; the endpoint then reports the debugger gone', () => {
    const { target } = connected();
    target.take();
    target.feed({ kind: 'send', token: 4, packet: { type: KdPacketType.StateChange64, payload: new Uint8Array(240) }, now: 0 });
    for (let t = 100; t <= 400; t += 100) target.feed({ kind: 'tick', now: t });
    expect(target.state.stats.resends).toBe(3);
    expect(target.settled.get(4)).toMatchObject({ code: LinkErrorCode.Timeout });
    expect(target.kinds()).toEqual(['connect', 'disconnect']);
  });

  it('close fails what is pending with the close error and refuses later calls', () => {
    const { guest } = connected();
    guest.feed({ kind: 'send', token: 1, packet: { type: KdPacketType.StateManipulate, payload: request(1) }, now: 0 });
    const error = new VmkdError(LinkErrorCode.Closed, 'closed', { canceled: true });
    guest.feed({ kind: 'close', error });
    expect(guest.settled.get(1)).toBe(error);
    guest.feed({ kind: 'send', token: 2, packet: { type: KdPacketType.StateManipulate, payload: request(1) }, now: 0 });
    expect(guest.settled.get(2)).toMatchObject({ code: LinkErrorCode.Closed });
  });
});
