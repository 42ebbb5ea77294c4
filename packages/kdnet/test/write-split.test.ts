import { firstValueFrom, filter } from 'rxjs';
import { createDebuggerSession, KdApi, KdPacketType, NtStatus, type KdPacket, type LinkEvent } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import { afterEach, describe, expect, it } from 'vitest';
import { capReadRequest, KDNET_ENDPOINT_MAX_REPLY, KDNET_FRAME_KD_PAYLOAD, splitIncoming, splitOutgoing, type ActiveSplit } from '../src/index.js';
import { openTargetOverKdnet } from './kit.js';

/*
 * kdnet.md §3: a datagram larger than one Ethernet frame is fragmented by IP, and nothing says a
 * Windows kdnet.dll reassembles fragments. So the guest link writes a debugger's large
 * WriteVirtualMemory (WinDbg and vmkd's router send up to 4,000 data bytes; radare2 1,992) in
 * pieces of one frame each, and answers the debugger once for the whole.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function writeRequest(api: number, address: bigint, data: Uint8Array): KdPacket {
  const payload = new Uint8Array(56 + data.length);
  const v = new DataView(payload.buffer);
  v.setUint32(0, api, true);
  v.setUint32(8, 0xdeadbeef, true); // debuggers leave garbage in ReturnStatus (kd-protocol.md §4.2)
  v.setBigUint64(0x10, address, true);
  v.setUint32(0x18, data.length, true);
  payload.set(data, 56);
  return { type: KdPacketType.StateManipulate, payload };
}

function reply(to: KdPacket, status: number, written: number): LinkEvent {
  const payload = to.payload.slice(0, 56);
  const v = new DataView(payload.buffer);
  v.setUint32(8, status, true);
  v.setUint32(0x1c, written, true);
  return { kind: 'packet', packet: { type: KdPacketType.StateManipulate, payload } };
}

const field = (p: Uint8Array, at: number): number => new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(at, true);
const address = (p: Uint8Array): bigint => new DataView(p.buffer, p.byteOffset, p.byteLength).getBigUint64(0x10, true);

describe('large writes toward a KDNET target', () => {
  it('a 4,000-byte write goes as pieces of one frame, in order, and is answered once for the whole', () => {
    const data = Uint8Array.from({ length: 4000 }, (_, i) => i & 0xff);
    const base = 0xfffff80000600000n;
    const first = splitOutgoing(undefined, writeRequest(KdApi.WriteVirtualMemory, base, data), KDNET_FRAME_KD_PAYLOAD);
    let split = first.split;
    const pieces: KdPacket[] = [first.packet];
    let answer: LinkEvent | undefined;
    while (answer === undefined) {
      const last = pieces.at(-1)!;
      expect(last.payload.length).toBeLessThanOrEqual(KDNET_FRAME_KD_PAYLOAD);
      const step = splitIncoming(split, reply(last, NtStatus.Success, field(last.payload, 0x18)), KDNET_FRAME_KD_PAYLOAD);
      split = step.split;
      for (const e of step.effects) {
        if (e.kind === 'send') pieces.push(e.packet);
        else answer = e.event;
      }
    }
    expect(pieces.map((p) => field(p.payload, 0x18))).toEqual([1344, 1344, 1312]);
    expect(pieces.map((p) => address(p.payload) - base)).toEqual([0n, 1344n, 2688n]);
    expect(Buffer.concat(pieces.map((p) => p.payload.subarray(56))).equals(Buffer.from(data))).toBe(true);
    expect(split).toBeUndefined();
    const whole = (answer as { packet: KdPacket }).packet.payload;
    expect(field(whole, 0)).toBe(KdApi.WriteVirtualMemory);
    expect(field(whole, 8)).toBe(NtStatus.Success);
    expect(address(whole)).toBe(base);
    expect(field(whole, 0x18)).toBe(4000);
    expect(field(whole, 0x1c)).toBe(4000);
  });

  it('a piece the target refuses ends the write: the debugger hears the status and what was written', () => {
    const data = new Uint8Array(4000).fill(0x41);
    const { split, packet } = splitOutgoing(undefined, writeRequest(KdApi.WritePhysicalMemory, 0x1000n, data), KDNET_FRAME_KD_PAYLOAD);
    const second = splitIncoming(split, reply(packet, NtStatus.Success, 1344), KDNET_FRAME_KD_PAYLOAD);
    const piece = second.effects[0] as { kind: 'send'; packet: KdPacket };
    expect(piece.kind).toBe('send');
    const end = splitIncoming(second.split, reply(piece.packet, NtStatus.Unsuccessful, 0), KDNET_FRAME_KD_PAYLOAD);
    expect(end.split).toBeUndefined();
    const whole = (end.effects[0] as { event: { packet: KdPacket } }).event.packet.payload;
    expect(field(whole, 8)).toBe(NtStatus.Unsuccessful);
    expect(field(whole, 0x18)).toBe(4000);
    expect(field(whole, 0x1c)).toBe(1344);
  });

  it('small writes, reads and other packets pass untouched; a target that goes away ends a split', () => {
    const small = writeRequest(KdApi.WriteVirtualMemory, 0x1000n, new Uint8Array(1344));
    expect(splitOutgoing(undefined, small, KDNET_FRAME_KD_PAYLOAD)).toEqual({ split: undefined, packet: small });
    const read = writeRequest(KdApi.ReadVirtualMemory, 0x1000n, new Uint8Array(0));
    expect(splitOutgoing(undefined, read, KDNET_FRAME_KD_PAYLOAD).split).toBeUndefined();
    const { split } = splitOutgoing(undefined, writeRequest(KdApi.WriteVirtualMemory, 0x1000n, new Uint8Array(3000)), KDNET_FRAME_KD_PAYLOAD);
    const stateChange: LinkEvent = { kind: 'packet', packet: { type: KdPacketType.StateChange64, payload: new Uint8Array(240) } };
    expect(splitIncoming(split as ActiveSplit, stateChange, KDNET_FRAME_KD_PAYLOAD)).toEqual({ split, effects: [{ kind: 'deliver', event: stateChange }] });
    const gone: LinkEvent = { kind: 'disconnect' };
    expect(splitIncoming(split, gone, KDNET_FRAME_KD_PAYLOAD)).toEqual({ split: undefined, effects: [{ kind: 'deliver', event: gone }] });
  });

  it('over real loopback UDP: a router’s 4,000-byte write reaches the virtual kernel in datagrams of one frame each', async () => {
    const sim = createSimTarget({ cpus: 1, printIntervalMs: 0 });
    cleanups.push(() => sim.close());
    const sizes: number[] = [];
    const pair = await openTargetOverKdnet(sim, { pokeIntervalMs: 200, tap: (bytes, _from, _to, direction) => direction === 'out' && sizes.push(bytes.length) });
    cleanups.push(() => pair.close());
    const session = createDebuggerSession(pair.link, { timeoutMs: 8000 });
    await session.attach({ timeoutMs: 8000 });
    const events: LinkEvent[] = [];
    pair.link.events$.subscribe((e) => events.push(e));
    await session.close();

    const base = sim.layout.dataRegion.virtualBase + 0x10000n;
    const data = Uint8Array.from({ length: 4000 }, (_, i) => (i * 7 + 3) & 0xff);
    sizes.length = 0;
    const replied = firstValueFrom(pair.link.events$.pipe(filter((e) => e.kind === 'packet' && e.packet.type === KdPacketType.StateManipulate)));
    await pair.link.send(writeRequest(KdApi.WriteVirtualMemory, base, data));
    const whole = ((await replied) as { packet: KdPacket }).packet.payload;
    expect(field(whole, 8)).toBe(NtStatus.Success);
    expect(field(whole, 0x18)).toBe(4000);
    expect(field(whole, 0x1c)).toBe(4000);
    expect(Buffer.from(sim.readVirtual(base, 4000, 0)).equals(Buffer.from(data))).toBe(true);
    // Three pieces (and the ACKs of the replies), none over one Ethernet frame (1,452 bytes of UDP over IPv6).
    expect(sizes.filter((s) => s > 1000)).toHaveLength(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1452);
    // The debugger saw one reply, not three.
    expect(events.filter((e) => e.kind === 'packet')).toHaveLength(1);
  });
});

describe('reads a debugger asks of the target behind a KDNET endpoint', () => {
  it('are capped so the reply fits 2,048 payload bytes (radare2’s limit); other requests pass as they are', () => {
    const read = (api: number, count: number): KdPacket => {
      const p = writeRequest(api, 0x1000n, new Uint8Array(0));
      new DataView(p.payload.buffer).setUint32(0x18, count, true);
      return p;
    };
    expect(field(capReadRequest(read(KdApi.ReadVirtualMemory, 2048), KDNET_ENDPOINT_MAX_REPLY).payload, 0x18)).toBe(1992);
    expect(field(capReadRequest(read(KdApi.ReadPhysicalMemory, 4000), KDNET_ENDPOINT_MAX_REPLY).payload, 0x18)).toBe(1992);
    const small = read(KdApi.ReadVirtualMemory, 1992);
    expect(capReadRequest(small, KDNET_ENDPOINT_MAX_REPLY)).toBe(small);
    const write = writeRequest(KdApi.WriteVirtualMemory, 0x1000n, new Uint8Array(3000));
    expect(capReadRequest(write, KDNET_ENDPOINT_MAX_REPLY)).toBe(write);
    const original = read(KdApi.ReadVirtualMemory, 2048);
    capReadRequest(original, KDNET_ENDPOINT_MAX_REPLY);
    expect(field(original.payload, 0x18)).toBe(2048); // the request seen by the link is not changed in place
  });
});
