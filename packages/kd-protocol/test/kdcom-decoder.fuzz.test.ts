import { describe, expect, it } from 'vitest';
import { KdcomFrameDecoder, PACKET_MAX_ACCEPT, encodeControlFrame, encodeDataFrame, type KdcomFrameEvent } from '../src/index.js';

/** Small deterministic PRNG (xorshift32) so a failure replays exactly. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

const INTERESTING = [0x30, 0x69, 0x62, 0xaa, 0x00, 0xff, 0x10, 0x0f];

function randomBytes(r: (n: number) => number, length: number): Uint8Array {
  // Biased toward the bytes the decoder cares about, so leaders and headers appear often.
  return Uint8Array.from({ length }, () => (r(3) === 0 ? INTERESTING[r(INTERESTING.length)] : r(256)));
}

function validStream(r: (n: number) => number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = r(4); i >= 0; i--) {
    parts.push(r(3) === 0 ? encodeControlFrame(r(8), r(0x7fffffff)) : encodeDataFrame(r(12), r(0x7fffffff), randomBytes(r, r(5) === 0 ? r(PACKET_MAX_ACCEPT + 1) : r(64))));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function mutate(r: (n: number) => number, input: Uint8Array): Uint8Array {
  const bytes = [...input];
  for (let m = 1 + r(4); m > 0; m--) {
    const at = r(bytes.length + 1);
    switch (r(5)) {
      case 0:
        if (at < bytes.length) bytes[at] = bytes[at] ^ (1 << r(8));
        break;
      case 1:
        bytes.splice(at, 0, INTERESTING[r(INTERESTING.length)]);
        break;
      case 2:
        bytes.splice(at, 1 + r(8));
        break;
      case 3:
        bytes.length = Math.min(bytes.length, at); // truncate
        break;
      default:
        // A header with a huge or borderline ByteCount.
        bytes.splice(at, 0, 0x30, 0x30, 0x30, 0x30, r(12), 0, r(256), r(2) === 0 ? 0x10 : 0xff, 0, 0, 0x80, 0x80, 0, 0, 0, 0);
    }
  }
  return Uint8Array.from(bytes);
}

describe('KdcomFrameDecoder fuzz', () => {
  it('survives 100,000 random and mutated inputs with a bounded buffer', () => {
    const r = rng(0x5eed1234);
    const LIMIT = 12 + PACKET_MAX_ACCEPT;
    let maxBuffered = 0;
    let events = 0;
    const kinds = new Set<string>();
    let decoder!: KdcomFrameDecoder;
    const onEvent = (e: KdcomFrameEvent): void => {
      events++;
      kinds.add(e.kind);
      maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
      if (e.kind === 'data' && e.payload.length > PACKET_MAX_ACCEPT) throw new Error('oversized payload delivered');
    };
    // One long-lived decoder sees every input back to back (state carries across inputs), and
    // every 100th input also goes through a fresh one.
    decoder = new KdcomFrameDecoder(onEvent);
    const long = decoder;
    for (let n = 0; n < 100_000; n++) {
      const kind = r(3);
      const input = kind === 0 ? randomBytes(r, r(200)) : kind === 1 ? mutate(r, validStream(r)) : validStream(r);
      const target = n % 100 === 0 ? new KdcomFrameDecoder(onEvent) : long;
      decoder = target;
      for (let at = 0; at < input.length; ) {
        const size = r(4) === 0 ? 1 : 1 + r(600);
        target.push(input.subarray(at, at + size));
        at += size;
        maxBuffered = Math.max(maxBuffered, target.bufferedBytes);
      }
      if (target !== long || r(50) === 0) target.flush();
    }
    expect(maxBuffered).toBeLessThanOrEqual(LIMIT);
    expect(events).toBeGreaterThan(100_000);
    // The generator reaches every kind of event.
    expect([...kinds].sort()).toEqual(['bad-frame', 'breakin', 'control', 'data', 'garbage', 'resync']);
    // 17 s on an idle machine; the suite must pass with both cores busy.
  }, 180_000);
});
