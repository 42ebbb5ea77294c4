import { describe, expect, it } from 'vitest';
import { createMemoryPacketPair, KdPacketType } from '@vmkd/kd-protocol';
import { route } from '../src/index.js';
import { memorySink } from './helpers/memory-sink.js';
import { breakpointStateChange, print, readVirtual } from './helpers/packets.js';
import { nextPacket, tick } from './helpers/link-waits.js';



describe('route trace records', () => {
  it('writes one JSON record per line with time, direction, type and the decoded packet', async () => {
    const sink = memorySink();
    const [guest, target] = createMemoryPacketPair();
    const [dbg, endpoint] = createMemoryPacketPair();
    const r = route(guest, endpoint, { trace: sink });
    const stop = nextPacket(dbg, KdPacketType.StateChange64);
    await target.send(breakpointStateChange(0xfffff80000401234n));
    await stop;
    const request = nextPacket(target);
    await dbg.send(readVirtual(0xfffff80000400000n, 64));
    await request;
    const out = nextPacket(dbg, KdPacketType.DebugIo);
    await target.send(print('traced\n'));
    await out;
    await dbg.breakIn();
    await tick(5);
    await r.close();

    const records = sink.lines();
    expect(sink.closed).toBe(true);
    for (const rec of records) expect(typeof rec.t).toBe('number');
    const packets = records.filter((rec) => rec.kind === 'packet');
    expect(packets.map((p) => [p.dir, p.typeName])).toEqual([
      ['guest→debugger', 'KD_STATE_CHANGE64'],
      ['debugger→guest', 'KD_STATE_MANIPULATE'],
      ['guest→debugger', 'KD_DEBUG_IO'],
    ]);
    expect(packets[0]).toMatchObject({ type: 7, origin: 'forwarded', decoded: { state: 'Exception', fields: { programCounter: '0xfffff80000401234' } } });
    expect(packets[1]).toMatchObject({ type: 2, length: 56, decoded: { api: 'ReadVirtualMemory', fields: { transferCount: 64 } } });
    expect(packets[2]).toMatchObject({ decoded: { api: 'PrintString', text: 'traced\n' } });
    const links = records.filter((rec) => rec.kind === 'link').map((rec) => `${String(rec.side)}:${String(rec.event)}`);
    expect(links).toEqual(expect.arrayContaining(['guest:connect', 'endpoint:connect', 'endpoint:breakin']));
    expect(records.at(-1)).toMatchObject({ kind: 'route-closed' });
    // Timestamps never go backwards.
    const times = records.map((rec) => rec.t as number);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});
