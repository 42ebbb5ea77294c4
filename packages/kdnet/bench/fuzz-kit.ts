import { KdPacketType } from '@vmkd/kd-protocol';
import {
  decodeDatagram,
  encodeDatagram,
  encodePoke,
  initialKdnetState,
  KdnetChannel,
  KdnetDirection,
  parseKdnetKey,
  reduceKdnet,
  type KdnetConfig,
  type KdnetEffect,
  type KdnetState,
  type UdpAddress,
} from '../src/index.js';

/**
 * Fuzzing both KDNET roles at the reducer: random and mutated datagrams (bit flips, truncation,
 * extension, a right magic over noise, replays of real ones) fed to a connected session. Checked
 * per datagram: nothing throws, and a datagram that fails authentication produces no packet,
 * break-in, reset or connect. Returned: counts, for the test and for the benchmark's report.
 */
export interface FuzzReport {
  readonly datagrams: number;
  readonly delivered: number;
  readonly unauthenticated: number;
  readonly violations: string[];
  readonly state: KdnetState;
}

const A: UdpAddress = { address: '127.0.0.1', port: 50000 };
const B: UdpAddress = { address: '127.0.0.1', port: 50001 };

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

export function fuzzRole(role: 'guest' | 'endpoint', count: number, seed = 1): FuzzReport {
  const rand = prng(seed);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const keys = parseKdnetKey('fuzz.1.2.3');
  const config = (r: 'guest' | 'endpoint'): KdnetConfig => ({
    role: r,
    keys,
    random: bytes,
    ackTimeoutMs: 100,
    maxRetries: 3,
    connectWaitMs: 1000,
    maxPayload: 4000,
    pokeIntervalMs: 1000,
    peerTimeoutMs: 1e12,
    version: 2,
    ...(r === 'endpoint' ? { peer: A, local: B } : {}),
  });
  // Connect a guest (at A) and an endpoint (at B) in memory, collecting real datagrams of both.
  let guest = initialKdnetState(config('guest'));
  let target = initialKdnetState(config('endpoint'));
  const seenBy: { guest: Uint8Array[]; endpoint: Uint8Array[] } = { guest: [], endpoint: [] };
  const out = (effects: readonly KdnetEffect[]): Uint8Array[] => effects.flatMap((e) => (e.kind === 'transmit' ? [e.bytes] : []));
  let toGuest = out(reduceKdnet(target, { kind: 'tick', now: 0 }).effects);
  target = reduceKdnet(target, { kind: 'tick', now: 0 }).state;
  let toTarget: Uint8Array[] = [];
  for (let round = 0; round < 10 && (toGuest.length > 0 || toTarget.length > 0); round++) {
    const nextToTarget: Uint8Array[] = [];
    const nextToGuest: Uint8Array[] = [];
    for (const b of toGuest) {
      seenBy.guest.push(b);
      const s = reduceKdnet(guest, { kind: 'datagram', bytes: b, from: B, now: 1 });
      guest = s.state;
      nextToTarget.push(...out(s.effects));
    }
    for (const b of toTarget) {
      seenBy.endpoint.push(b);
      const s = reduceKdnet(target, { kind: 'datagram', bytes: b, from: A, now: 1 });
      target = s.state;
      nextToGuest.push(...out(s.effects));
    }
    toGuest = nextToGuest;
    toTarget = nextToTarget;
  }
  // Some real traffic to mutate: data both ways.
  const g = reduceKdnet(guest, { kind: 'send', token: 1, packet: { type: KdPacketType.StateManipulate, payload: bytes(200) }, now: 2 });
  guest = g.state;
  seenBy.endpoint.push(...out(g.effects));
  const t = reduceKdnet(target, { kind: 'send', token: 1, packet: { type: KdPacketType.StateChange64, payload: bytes(240) }, now: 2 });
  target = t.state;
  seenBy.guest.push(...out(t.effects));
  const poke = encodeDatagram(
    { version: 2, channel: KdnetChannel.Control, sequence: 7, direction: KdnetDirection.ToDebugger, body: encodePoke(bytes(32), B, A, 0) },
    keys.controlKey,
    keys.hmacKey,
  );
  seenBy.guest.push(poke);

  let state = role === 'guest' ? guest : target;
  const from = role === 'guest' ? B : A;
  const corpus = seenBy[role];
  const violations: string[] = [];
  let delivered = 0;
  let unauthenticated = 0;
  for (let i = 0; i < count; i++) {
    const datagram = mutate(corpus[Math.floor(rand() * corpus.length)], rand, bytes);
    const keysNow = state;
    const authentic = decodeDatagram(datagram, (ch) => (ch === KdnetChannel.Control ? keys.controlKey : keysNow.dataKey), keys.hmacKey).ok;
    if (!authentic) unauthenticated += 1;
    let step;
    try {
      step = reduceKdnet(state, { kind: 'datagram', bytes: datagram, from, now: 10 + i });
    } catch (error) {
      violations.push(`datagram ${i} threw: ${String(error)}`);
      continue;
    }
    state = step.state;
    for (const e of step.effects) {
      if (e.kind !== 'event') continue;
      if (e.event.kind === 'packet') delivered += 1;
      if (!authentic && e.event.kind !== 'disconnect') violations.push(`datagram ${i} failed authentication but produced ${e.event.kind}`);
    }
    if (state.queue.length > 1 || state.nonces.length > 4) violations.push(`datagram ${i}: state grew (queue ${state.queue.length}, nonces ${state.nonces.length})`);
  }
  return { datagrams: count, delivered, unauthenticated, violations: violations.slice(0, 20), state };
}

function mutate(original: Uint8Array, rand: () => number, bytes: (n: number) => Uint8Array): Uint8Array {
  const pick = Math.floor(rand() * 8);
  switch (pick) {
    case 0:
      return bytes(Math.floor(rand() * 5000));
    case 1: {
      // The right magic and a plausible length over noise.
      const out = bytes(6 + 16 * (1 + Math.floor(rand() * 20)) + 16);
      out.set([0x4d, 0x44, 0x42, 0x47, 2, Math.floor(rand() * 3)]);
      return out;
    }
    case 2: {
      const out = original.slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) out[Math.floor(rand() * out.length)] ^= 1 << Math.floor(rand() * 8);
      return out;
    }
    case 3:
      return original.slice(0, Math.floor(rand() * original.length));
    case 4: {
      const extra = bytes(1 + Math.floor(rand() * 64));
      const out = new Uint8Array(original.length + extra.length);
      out.set(original);
      out.set(extra, original.length);
      return out;
    }
    case 5: {
      // A valid header re-targeted to the other channel: must fail with the other key.
      const out = original.slice();
      out[5] ^= 1;
      return out;
    }
    case 6:
      // A replay of a real datagram.
      return original.slice();
    default: {
      // Ciphertext blocks swapped: CBC would decrypt to shuffled text, the HMAC must catch it.
      const out = original.slice();
      const blocks = Math.floor((out.length - 22) / 16);
      if (blocks >= 2) {
        const a = 6 + 16 * Math.floor(rand() * blocks);
        const b = 6 + 16 * Math.floor(rand() * blocks);
        const tmp = out.slice(a, a + 16);
        out.copyWithin(a, b, b + 16);
        out.set(tmp, b);
      }
      return out;
    }
  }
}
