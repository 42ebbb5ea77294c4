import { describe, expect, it } from 'vitest';
import { FRESH_TARGET_SEND_ID, KdcomLinkMachine, KdPacketType, createVirtualClock, decodeKdcomFrames, encodeControlFrame, encodeDataFrame, kdChecksum, type KdcomFrameEvent, type KdPacket } from '../src/index.js';
import { type KdcomMachineOutput } from '../src/internal.js';
import { A1, A2, A2RestoreBreakPointPayload, A3, A3StateChangeHeader, A4, a4LoadSymbolsPayload } from './kdcom-vectors.js';

const HEADER = 16;

function payloadOf(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(HEADER, bytes.length - 1);
}

/** A machine whose output is recorded: wire bytes as hex strings, plus every other call. */
function recordingMachine(role: 'debugger-facing' | 'target-facing') {
  const wire: Uint8Array[] = [];
  const log: string[] = [];
  const delivered: KdPacket[] = [];
  const clock = createVirtualClock();
  const out: KdcomMachineOutput<string> = {
    write: (b) => wire.push(b.slice()),
    deliver: (p) => delivered.push(p),
    sent: (t) => log.push(`sent ${t}`),
    failed: (t, e) => log.push(`failed ${t} ${e.code}`),
    peerBreakIn: () => log.push('breakin'),
    peerReset: () => log.push('reset'),
    resynced: () => log.push('resynced'),
    resyncFailed: (e) => log.push(`resyncFailed ${e.code}`),
  };
  const machine = new KdcomLinkMachine<string>({ role, clock }, out);
  const feed = (bytes: Uint8Array) => {
    for (const e of decodeKdcomFrames(bytes)) machine.receive(e);
  };
  return { machine, wire, log, delivered, clock, feed };
}

describe('Appendix A.2/A.3 frames', () => {
  for (const v of [...A2, ...A3]) {
    it(`${v.name}: encodes to the listed bytes and decodes back`, () => {
      const payload = payloadOf(v.bytes);
      expect(kdChecksum(payload)).toBe(v.checksum);
      expect(encodeDataFrame(v.type, v.id, payload)).toEqual(v.bytes);
      const events = decodeKdcomFrames(v.bytes);
      expect(events).toEqual<KdcomFrameEvent[]>([
        { kind: 'data', offset: 0, type: v.type, id: v.id, byteCount: payload.length, checksum: v.checksum, payload },
      ]);
    });
  }

  it('RestoreBreakPoint payload sums to 0x67', () => {
    expect(kdChecksum(A2RestoreBreakPointPayload)).toBe(0x67);
  });

  it('spec 1.4 example: 46 31 00 00 then 52 zeros sums to 0x77', () => {
    expect(kdChecksum(payloadOf(A2[0].bytes))).toBe(0x77);
  });

  it('the A.3 state-change header decodes as far as it goes (then reports truncation)', () => {
    const events = decodeKdcomFrames(A3StateChangeHeader);
    expect(events).toEqual([
      expect.objectContaining({ kind: 'bad-frame', reason: 'truncated', code: 'ERR_KDCOM_TRUNCATED', type: 7, byteCount: 0xf0, id: 0x80800000, checksum: 0x14e1 }),
    ]);
  });
});

describe('Appendix A.1: radare2 attach bytes', () => {
  it('decode as break-in and RESET; ACK and RESET encode to the listed bytes', () => {
    expect(decodeKdcomFrames(A1.breakIn)).toEqual([{ kind: 'breakin', offset: 0 }]);
    expect(decodeKdcomFrames(A1.reset)).toEqual([{ kind: 'control', offset: 0, type: KdPacketType.Reset, id: 0, byteCount: 0, checksum: 0 }]);
    expect(encodeControlFrame(KdPacketType.Reset, 0)).toEqual(A1.reset);
    expect(encodeControlFrame(KdPacketType.Acknowledge, 0x80800000)).toEqual(A1.ack80800000);
  });

  it('a target machine answers b + RESET with break-in and the listed RESET reply', () => {
    const t = recordingMachine('debugger-facing');
    t.feed(new Uint8Array([...A1.breakIn, ...A1.reset]));
    expect(t.log).toEqual(['breakin', 'reset']);
    expect(t.wire).toEqual([A1.resetReply]);
  });

  it('a debugger machine sends exactly the radare2 attach bytes', () => {
    const d = recordingMachine('target-facing');
    d.machine.breakIn();
    d.machine.resync();
    expect(d.wire).toEqual([A1.breakIn, A1.reset]);
    d.feed(A1.resetReply);
    expect(d.log).toEqual(['resynced']);
    // A.2: the debugger's first two requests carry 0x80800000 then 0x80800001.
    d.machine.send({ type: 2, payload: payloadOf(A2[0].bytes) }, 'getVersion');
    expect(d.wire.at(-1)).toEqual(A2[0].bytes);
    d.feed(A1.ack80800000);
    d.machine.send({ type: 2, payload: payloadOf(A2[1].bytes) }, 'read');
    expect(d.wire.at(-1)).toEqual(A2[1].bytes);
    expect(d.log).toEqual(['resynced', 'sent getVersion']);
  });

  it('a debugger ACKs target packets with the ids of A.3 (SYNC stripped)', () => {
    const d = recordingMachine('target-facing');
    d.feed(A3[1].bytes); // id 0x80800000 first
    expect(d.wire).toEqual([A1.ack80800000]);
    expect(d.delivered).toHaveLength(1);
    d.feed(A3[0].bytes); // then 0x80800001
    expect(d.wire[1]).toEqual(encodeControlFrame(KdPacketType.Acknowledge, 0x80800001));
    expect(d.delivered).toHaveLength(2);
  });
});

describe('Appendix A.4: SYNC → RESET → resend', () => {
  it('a fresh target sends LoadSymbols with INITIAL|SYNC, answers RESET, re-sends with 0x80800000', () => {
    const t = recordingMachine('debugger-facing');
    expect(t.machine.ids.nextSendId).toBe(FRESH_TARGET_SEND_ID);
    const payload = a4LoadSymbolsPayload();
    expect(kdChecksum(payload)).toBe(0x3344);
    t.machine.send({ type: KdPacketType.StateChange64, payload }, 'loadSymbols');
    expect(t.wire).toHaveLength(1);
    expect(t.wire[0].subarray(0, HEADER)).toEqual(A4.loadSymbolsSyncHeader);
    expect(t.wire[0].subarray(HEADER)).toEqual(new Uint8Array([...payload, 0xaa]));

    t.feed(A4.resetOddId);
    expect(t.log).toEqual(['reset']);
    expect(t.wire[1]).toEqual(A4.reset); // our RESET reply, id 0
    expect(t.wire[2].subarray(0, HEADER)).toEqual(A4.loadSymbolsResentHeader);
    expect(t.wire[2].subarray(HEADER)).toEqual(new Uint8Array([...payload, 0xaa]));

    t.feed(A1.ack80800000);
    expect(t.log).toEqual(['reset', 'sent loadSymbols']);
    expect(t.machine.ids.nextSendId).toBe(0x80800001);
  });

  it('a debugger machine decodes the whole sequence and ACKs the SYNC packet stripped', () => {
    const payload = a4LoadSymbolsPayload();
    const syncFrame = new Uint8Array([...A4.loadSymbolsSyncHeader, ...payload, 0xaa]);
    const events = decodeKdcomFrames(new Uint8Array([...A4.reset, ...A4.reset, ...A4.reset, ...A4.reset, ...A4.reset, ...syncFrame, ...A4.resetOddId]));
    expect(events.map((e) => e.kind)).toEqual(['control', 'control', 'control', 'control', 'control', 'data', 'control']);
    expect(events[5]).toMatchObject({ kind: 'data', type: 7, id: 0x80800800, byteCount: 0x10f, checksum: 0x3344 });
    expect(events[6]).toMatchObject({ kind: 'control', type: 6, id: 0x0005f863, offset: 5 * 16 + syncFrame.length });

    const d = recordingMachine('target-facing');
    d.feed(syncFrame);
    expect(d.wire).toEqual([A1.ack80800000]);
    expect(d.delivered).toHaveLength(1);
  });
});
