import { describe, expect, it } from 'vitest';
import { FRAME_ROOM, KdPacketType, KdcomFrameDecoder, KdcomLinkMachine, createVirtualClock, encodeDataFrame, type KdPacket, type KdcomFrameEvent } from '../src/index.js';
import { encodeDataFrameAround } from '../src/internal.js';
import { KdcomSim, numbered, seqOf } from './kdcom-sim.js';

/** A packet built in a buffer with room around it, as TargetSession builds its replies. */
function roomy(packet: KdPacket, head: number = FRAME_ROOM.head, tail: number = FRAME_ROOM.tail): KdPacket {
  const buffer = new Uint8Array(head + packet.payload.length + tail).fill(0xee);
  buffer.set(packet.payload, head);
  return { type: packet.type, payload: buffer.subarray(head, head + packet.payload.length), frameInPlace: true };
}

function decodeAll(chunks: Uint8Array[]): KdcomFrameEvent[] {
  const events: KdcomFrameEvent[] = [];
  const decoder = new KdcomFrameDecoder((e) => events.push(e));
  for (const c of chunks) decoder.push(c.slice());
  return events;
}

describe('KDCOM framing in place (KdPacket.frameInPlace)', () => {
  it('writes the same bytes as a copied frame, around the payload in its own buffer', () => {
    const payload = Uint8Array.from({ length: 4000 }, (_, i) => (i * 7) & 0xff);
    const p = roomy({ type: 2, payload }, FRAME_ROOM.head + 3, FRAME_ROOM.tail + 2);
    const frame = encodeDataFrameAround(2, 0x80800001, p.payload);
    expect(frame).toBeDefined();
    expect(frame!.buffer).toBe(p.payload.buffer);
    expect(frame).toEqual(encodeDataFrame(2, 0x80800001, payload));
    const all = new Uint8Array(p.payload.buffer);
    expect([...all.subarray(0, 3), ...all.subarray(all.length - 2)]).toEqual([0xee, 0xee, 0xee, 0xee, 0xee]); // nothing outside the frame
    expect(p.payload).toEqual(payload); // the payload itself unchanged
  });

  it('declines when the buffer has no room before or after the payload', () => {
    const payload = Uint8Array.of(1, 2, 3);
    expect(encodeDataFrameAround(2, 1, payload)).toBeUndefined();
    expect(encodeDataFrameAround(2, 1, roomy({ type: 2, payload }, FRAME_ROOM.head - 1).payload)).toBeUndefined();
    expect(encodeDataFrameAround(2, 1, roomy({ type: 2, payload }, FRAME_ROOM.head, 0).payload)).toBeUndefined();
  });

  it('the link machine sends in place, re-stamps queued frames, copies before patching a written one, and falls back without room', () => {
    const clock = createVirtualClock();
    const written: Uint8Array[] = [];
    const machine = new KdcomLinkMachine<number>(
      { role: 'debugger-facing', clock, ackTimeoutMs: 100 },
      {
        write: (bytes) => written.push(bytes),
        deliver: () => undefined,
        sent: () => undefined,
        failed: () => undefined,
        peerBreakIn: () => undefined,
        peerReset: () => undefined,
        resynced: () => undefined,
        resyncFailed: () => undefined,
      },
    );
    const a = roomy(numbered('tgt', 1, 100));
    const b = roomy(numbered('tgt', 2, 100));
    const c = { ...numbered('tgt', 3, 100), frameInPlace: true }; // no room: copied
    machine.send(a, 1);
    machine.send(b, 2);
    machine.send(c, 3);
    expect(written).toHaveLength(1);
    expect(written[0].buffer).toBe(a.payload.buffer);
    const ack = (id: number) => machine.receive({ kind: 'control', type: KdPacketType.Acknowledge, id, offset: 0, byteCount: 0, checksum: 0 });
    ack(machine.ids.nextSendId);
    expect(written[1].buffer).toBe(b.payload.buffer); // re-stamped in place: it was never written
    // A RESET makes the in-flight frame's id change after it was written: a copy is patched, and the
    // bytes already handed to the wire stay as they were.
    const before = written[1].slice();
    machine.receive({ kind: 'control', type: KdPacketType.Reset, id: 0, offset: 0, byteCount: 0, checksum: 0 });
    const resent = written.filter((w) => w[0] === 0x30).at(-1)!;
    expect(resent.buffer).not.toBe(b.payload.buffer);
    expect(written[1]).toEqual(before);
    ack(machine.ids.nextSendId);
    const last = written.at(-1)!;
    expect(last.buffer).not.toBe(c.payload.buffer);
    const data = decodeAll(written).filter((e) => e.kind === 'data');
    expect(data.map((e) => seqOf({ type: e.type, payload: e.payload }))).toEqual([1, 2, 2, 3]);
    expect(data.map((e) => e.kind === 'data' && e.payload.length)).toEqual([100, 100, 100, 100]);
  });

  it('in-place packets survive lost ACKs and corrupted frames and arrive once, intact', () => {
    let dropped = 0;
    let corrupted = 0;
    const sim = new KdcomSim({}, (chunk, from) => {
      if (from !== 'tgt') return chunk;
      if (chunk[0] === 0x30 && corrupted++ === 1) {
        const bad = chunk.slice();
        bad[30] ^= 1;
        return bad;
      }
      return chunk[0] === 0x69 && dropped++ === 0 ? null : chunk;
    });
    const packets = [1, 2, 3].map((n) => numbered('dbg', n, 500));
    packets.forEach((p, i) => sim.dbg.machine.send(roomy(p), i + 1));
    [4, 5].forEach((n) => sim.tgt.machine.send(roomy(numbered('tgt', n, 3000)), n));
    sim.settle();
    expect(sim.tgt.delivered.map(seqOf)).toEqual([1, 2, 3]);
    expect(sim.tgt.delivered.map((p) => p.payload)).toEqual(packets.map((p) => p.payload));
    expect(sim.dbg.delivered.map(seqOf)).toEqual([4, 5]);
    expect(sim.dbg.delivered.map((p) => p.payload)).toEqual([4, 5].map((n) => numbered('tgt', n, 3000).payload));
    expect(sim.dbg.sent).toEqual([1, 2, 3]);
    expect(sim.tgt.sent).toEqual([4, 5]);
  });
});
