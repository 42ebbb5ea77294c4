import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { KdcomFrameDecoder, PACKET_MAX_ACCEPT, decodeKdcomFrames, encodeControlFrame, encodeDataFrame, type KdcomFrameEvent } from '../src/index.js';

/** Bytes that can never start a leader or a break-in: safe garbage between frames. */
const garbageByte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x30 && b !== 0x69 && b !== 0x62);
const garbage = fc.uint8Array({ maxLength: 12 }).map((a) => a.map((b) => (b === 0x30 || b === 0x69 || b === 0x62 ? 0x00 : b)));

type Corruption = 'none' | 'payload' | 'checksum' | 'trailer';

const dataFrame = fc.record({
  kind: fc.constant('data' as const),
  type: fc.integer({ min: 0, max: 11 }),
  id: fc.integer({ min: 0, max: 0xffffffff }),
  payload: fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ maxLength: 120 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 3990, maxLength: PACKET_MAX_ACCEPT }) }),
  corruption: fc.constantFrom<Corruption>('none', 'none', 'none', 'payload', 'checksum', 'trailer'),
  at: fc.nat(),
  flip: fc.integer({ min: 1, max: 255 }),
  badTrailer: garbageByte.filter((b) => b !== 0xaa),
  before: garbage,
});
const controlFrame = fc.record({
  kind: fc.constant('control' as const),
  // Any type, except one whose first byte is a leader byte: no real header starts with one, and the
  // decoder reads a fifth leader byte as part of the leader (see hunt()).
  type: fc.integer({ min: 0, max: 0xffff }).filter((t) => (t & 0xff) !== 0x30 && (t & 0xff) !== 0x69),
  id: fc.integer({ min: 0, max: 0xffffffff }),
  before: garbage,
});

type FrameSpec = typeof dataFrame extends fc.Arbitrary<infer T> ? T : never;

function wire(f: FrameSpec): Uint8Array {
  const frame = encodeDataFrame(f.type, f.id, f.payload);
  const corruption: Corruption = f.corruption === 'payload' && f.payload.length === 0 ? 'checksum' : f.corruption;
  if (corruption === 'payload') frame[16 + (f.at % f.payload.length)] ^= f.flip;
  if (corruption === 'checksum') frame[12 + (f.at % 4)] ^= f.flip;
  if (corruption === 'trailer') frame[frame.length - 1] = f.badTrailer;
  return frame;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feed `bytes` cut at the given (sorted, deduplicated) offsets. */
function feedInChunks(decoder: KdcomFrameDecoder, bytes: Uint8Array, cuts: number[]): number {
  let maxBuffered = 0;
  let from = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
    decoder.push(bytes.subarray(from, Math.max(from, cut)));
    from = Math.max(from, cut);
    maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
  }
  return maxBuffered;
}

describe('KdcomFrameDecoder properties', () => {
  test.prop([fc.array(fc.oneof({ weight: 3, arbitrary: dataFrame }, controlFrame), { maxLength: 25 }), garbage, fc.array(fc.nat(), { maxLength: 40 })], {
    numRuns: 300,
  })('every intact frame decoded once and in order; every corrupted one reported, never delivered', (frames, tail, cuts) => {
    const parts: Uint8Array[] = [];
    const expected: KdcomFrameEvent[] = [];
    const expectedBad: string[] = [];
    let garbageBytes = tail.length;
    let rescannable = 0;
    let offset = 0;
    for (const f of frames) {
      parts.push(f.before);
      garbageBytes += f.before.length;
      offset += f.before.length;
      if (f.kind === 'control') {
        parts.push(encodeControlFrame(f.type, f.id));
        expected.push({ kind: 'control', offset, type: f.type, id: f.id, byteCount: 0, checksum: 0 });
        offset += 16;
        continue;
      }
      const frameOffset = offset;
      parts.push(wire(f));
      offset += 17 + f.payload.length;
      const corruption = f.corruption === 'payload' && f.payload.length === 0 ? 'checksum' : f.corruption;
      if (corruption === 'none') {
        expected.push({ kind: 'data', offset: frameOffset, type: f.type, id: f.id, byteCount: f.payload.length, checksum: f.payload.reduce((s, b) => s + b, 0), payload: f.payload });
      } else {
        expectedBad.push(corruption === 'trailer' ? 'ERR_KDCOM_BAD_TRAILER' : 'ERR_KDCOM_BAD_CHECKSUM');
        if (corruption === 'trailer') rescannable += 13 + f.payload.length;
      }
    }
    parts.push(tail);
    const events: KdcomFrameEvent[] = [];
    const decoder = new KdcomFrameDecoder((e) => events.push(e));
    const maxBuffered = feedInChunks(decoder, concat(parts), cuts);
    decoder.flush();

    expect(events.filter((e) => e.kind === 'data' || e.kind === 'control')).toEqual(expected);
    expect(events.flatMap((e) => (e.kind === 'bad-frame' ? [e.code] : []))).toEqual(expectedBad);
    // A frame with a bad trailer is hunted through again (a lost byte makes it swallow the next
    // frame's start), so its bytes after the leader may count as garbage too.
    const garbageSeen = events.reduce((n, e) => n + (e.kind === 'garbage' ? e.count : 0), 0);
    expect(garbageSeen).toBeGreaterThanOrEqual(garbageBytes);
    expect(garbageSeen).toBeLessThanOrEqual(garbageBytes + rescannable);
    expect(events.some((e) => e.kind === 'breakin')).toBe(false);
    expect(maxBuffered).toBeLessThanOrEqual(12 + PACKET_MAX_ACCEPT);
  });

  test.prop([fc.array(fc.nat(), { maxLength: 6 })])('a lone b between frames is a break-in, in its place', (cuts) => {
    const a = encodeDataFrame(2, 0x80800000, Uint8Array.of(1, 2, 3));
    const b = encodeControlFrame(4, 0x80800000);
    const events: KdcomFrameEvent[] = [];
    const decoder = new KdcomFrameDecoder((e) => events.push(e));
    feedInChunks(decoder, concat([a, Uint8Array.of(0x62, 0x62), b, Uint8Array.of(0x62)]), cuts);
    decoder.flush();
    // A run of b's is one request (two if a chunk boundary splits it); a b after the last frame is one too.
    expect(events.map((e) => e.kind).filter((k, i, all) => k !== 'breakin' || all[i - 1] !== 'breakin')).toEqual(['data', 'breakin', 'control', 'breakin']);
    expect(events[1]).toEqual({ kind: 'breakin', offset: a.length });
  });

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 4000 })])('a 0x62 among garbage is garbage, not a break-in (KD spec 1.7)', (noise) => {
    // Bytes that are neither a leader byte nor b, with b's sprinkled in (never a whole chunk of them).
    const bytes = concat([Uint8Array.of(0x11), noise.map((x) => (x === 0x30 || x === 0x69 ? 0x62 : x)), Uint8Array.of(0x12)]);
    const events = decodeKdcomFrames(bytes);
    expect(events.filter((e) => e.kind === 'breakin')).toEqual([]);
    expect(events.reduce((n, e) => n + (e.kind === 'garbage' ? e.count : 0), 0)).toBe(bytes.length);
  });
});

describe('KdcomFrameDecoder rejects', () => {
  it('a data header with type ≥ 12, then resynchronises on the next leader', () => {
    const bad = encodeDataFrame(12, 0x80800000, Uint8Array.of(1, 2));
    const good = encodeDataFrame(2, 0x80800001, Uint8Array.of(3));
    const events = decodeKdcomFrames(concat([bad, good]));
    expect(events.map((e) => e.kind)).toEqual(['bad-frame', 'garbage', 'resync', 'data']);
    expect(events[0]).toMatchObject({ reason: 'type', code: 'ERR_KDCOM_BAD_TYPE', type: 12, byteCount: 2 });
    expect(events[1]).toEqual({ kind: 'garbage', offset: 16, count: 3 }); // the rest of the bad frame: 2 payload bytes + trailer
    expect(events[3]).toMatchObject({ kind: 'data', offset: bad.length });
  });

  it('a ByteCount over 4096 on the header alone, before buffering anything', () => {
    const header = encodeDataFrame(2, 0x80800000, new Uint8Array(0));
    header[6] = 0x01;
    header[7] = 0x10; // 4097
    const events: KdcomFrameEvent[] = [];
    const decoder = new KdcomFrameDecoder((e) => events.push(e));
    decoder.push(header.subarray(0, 16));
    expect(events).toEqual([expect.objectContaining({ kind: 'bad-frame', reason: 'oversize', code: 'ERR_KDCOM_OVERSIZE', byteCount: 4097 })]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.inFrame).toBe(false);
  });

  it('accepts exactly 4096 bytes (QEMU) and reports a frame cut short as truncated', () => {
    const frame = encodeDataFrame(2, 0x80800000, new Uint8Array(4096).fill(7));
    expect(decodeKdcomFrames(frame)).toMatchObject([{ kind: 'data', byteCount: 4096 }]);
    const events: KdcomFrameEvent[] = [];
    const decoder = new KdcomFrameDecoder((e) => events.push(e));
    decoder.push(frame.subarray(0, 1000));
    expect(decoder.bufferedBytes).toBe(4096);
    decoder.flush();
    expect(decoder.bufferedBytes).toBe(0);
    expect(events).toEqual([expect.objectContaining({ kind: 'bad-frame', reason: 'truncated', received: 1000 - 4 })]);
  });

  it('one byte at a time gives the same events as one chunk', () => {
    const stream = concat([
      Uint8Array.of(1, 2, 0x30, 0x69),
      encodeDataFrame(7, 0x80800800, Uint8Array.of(9, 8, 7)),
      Uint8Array.of(0x62),
      encodeControlFrame(6),
      encodeDataFrame(99, 1, Uint8Array.of(1)),
      encodeDataFrame(3, 2, Uint8Array.of(5)),
    ]);
    const whole = decodeKdcomFrames(stream);
    const single: KdcomFrameEvent[] = [];
    const decoder = new KdcomFrameDecoder((e) => single.push(e));
    for (const b of stream) decoder.push(Uint8Array.of(b));
    decoder.flush();
    expect(single).toEqual(whole);
    expect(whole.map((e) => e.kind)).toEqual(['garbage', 'resync', 'data', 'breakin', 'control', 'bad-frame', 'garbage', 'resync', 'data']);
  });

  it('delivers a frame inside one chunk as a view of that chunk (no copy)', () => {
    const chunk = concat([Uint8Array.of(0), encodeDataFrame(2, 0, Uint8Array.of(1, 2, 3))]);
    const [, , data] = decodeKdcomFrames(chunk);
    expect(data).toMatchObject({ kind: 'data' });
    if (data?.kind === 'data') expect(data.payload.buffer).toBe(chunk.buffer);
  });
});
