import { afterEach, describe, expect, it } from 'vitest';
import { createKdcomLink, createMemoryBytePair, type LinkEvent, type PacketLink } from '../src/index.js';
import { A1, A2, A3 } from './kdcom-vectors.js';

const links: PacketLink[] = [];
afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.close()));
});

function pair(options: Parameters<typeof createMemoryBytePair>[0] = {}) {
  const [a, b] = createMemoryBytePair(options);
  const debuggerSide = createKdcomLink(a, { role: 'target-facing', name: 'dbg', ackTimeoutMs: 50, byteTimeoutMs: 50 });
  const targetSide = createKdcomLink(b, { role: 'debugger-facing', name: 'tgt', ackTimeoutMs: 50, byteTimeoutMs: 50 });
  links.push(debuggerSide, targetSide);
  const atDbg: LinkEvent[] = [];
  const atTgt: LinkEvent[] = [];
  debuggerSide.events$.subscribe((e) => atDbg.push(e));
  targetSide.events$.subscribe((e) => atTgt.push(e));
  return { debuggerSide, targetSide, atDbg, atTgt, bytes: [a, b] as const };
}

const packet = (type: number, ...bytes: number[]) => ({ type, payload: Uint8Array.from(bytes) });

describe('createKdcomLink over a memory byte pair', () => {
  it('carries packets both ways, break-in and resync', async () => {
    const { debuggerSide, targetSide, atDbg, atTgt } = pair();
    await targetSide.send(packet(7, 1, 2, 3)); // the fresh target's SYNC packet
    await debuggerSide.send(packet(2, 4, 5));
    await debuggerSide.breakIn();
    await debuggerSide.resync();
    await targetSide.send(packet(3, 6));
    await new Promise((r) => setTimeout(r, 5));
    expect(atDbg.map((e) => e.kind)).toEqual(['connect', 'packet', 'packet']);
    expect(atTgt.map((e) => e.kind)).toEqual(['connect', 'packet', 'breakin', 'reset']);
    expect(atDbg[1]).toEqual({ kind: 'packet', packet: packet(7, 1, 2, 3) });
    expect(atDbg[2]).toEqual({ kind: 'packet', packet: packet(3, 6) });
    expect(atTgt[1]).toEqual({ kind: 'packet', packet: packet(2, 4, 5) });
    expect(targetSide.stats()).toMatchObject({ packetsIn: 1, packetsOut: 2, breakins: 1, badFrames: 0 });
    await expect(targetSide.breakIn()).rejects.toMatchObject({ code: 'ERR_LINK_UNSUPPORTED' });
    await expect(targetSide.resync()).rejects.toMatchObject({ code: 'ERR_LINK_UNSUPPORTED' });
    await expect(targetSide.send({ type: 2, payload: new Uint8Array(4001) })).rejects.toMatchObject({ code: 'ERR_LINK_PACKET_TOO_LARGE' });
    await expect(targetSide.send({ type: 12, payload: new Uint8Array(1) })).rejects.toMatchObject({ code: 'ERR_KDCOM_BAD_TYPE' });
  });

  it('reports the byte link ending as disconnect and rejects pending sends', async () => {
    const { debuggerSide, targetSide, atTgt, bytes } = pair();
    await targetSide.send(packet(7, 1));
    bytes[0].abort();
    const pending = targetSide.send(packet(7, 2));
    await expect(pending).rejects.toMatchObject({ code: 'ERR_LINK_DISCONNECTED', disconnected: true });
    expect(atTgt.at(-1)).toMatchObject({ kind: 'disconnect', error: { code: 'ERR_LINK_DISCONNECTED' } });
    expect(targetSide.connected).toBe(false);
    await expect(targetSide.send(packet(7, 3))).rejects.toMatchObject({ code: 'ERR_LINK_DISCONNECTED' });
    await debuggerSide.close();
    await expect(debuggerSide.send(packet(2, 1))).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED', canceled: true });
  });

  it('close() rejects a send in flight as canceled and completes events$', async () => {
    const [a] = createMemoryBytePair();
    const link = createKdcomLink(a, { role: 'target-facing' });
    let completed = false;
    link.events$.subscribe({ complete: () => (completed = true) });
    const inFlight = link.send(packet(2, 1));
    await link.close();
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED', canceled: true });
    expect(completed).toBe(true);
  });

  it('gives up after the retry budget with ERR_LINK_TIMEOUT', async () => {
    const [a] = createMemoryBytePair(); // nobody answers on the other end
    const link = createKdcomLink(a, { role: 'target-facing', ackTimeoutMs: 5, maxRetries: 2 });
    links.push(link);
    await expect(link.send(packet(2, 1))).rejects.toMatchObject({ code: 'ERR_LINK_TIMEOUT' });
    expect(link.stats().resends).toBe(2);
  });

  it('answers radare2 attach bytes (A.1) on the wire as listed, and ACKs its GetVersion (A.2)', async () => {
    const [radare2, targetBytes] = createMemoryBytePair();
    const target = createKdcomLink(targetBytes, { role: 'debugger-facing' });
    links.push(target);
    const events: LinkEvent[] = [];
    target.events$.subscribe((e) => events.push(e));
    const wire: number[] = [];
    radare2.data$.subscribe((c) => wire.push(...c));
    await radare2.write(A1.breakIn);
    await radare2.write(A1.reset);
    await radare2.write(A2[0].bytes);
    await new Promise((r) => setTimeout(r, 5));
    expect(wire).toEqual([...A1.resetReply, ...A1.ack80800000]);
    expect(events.map((e) => e.kind)).toEqual(['connect', 'breakin', 'reset', 'packet']);
    // After the RESET the target numbers its first packet 0x80800000 (no SYNC).
    const reply = target.send({ type: 2, payload: A3[0].bytes.subarray(16, -1) });
    await new Promise((r) => setTimeout(r, 5));
    expect(wire.slice(32, 36)).toEqual([0x30, 0x30, 0x30, 0x30]);
    expect(wire.slice(40, 44)).toEqual([0x00, 0x00, 0x80, 0x80]);
    await radare2.write(A1.ack80800000);
    await reply;
  });

  it('a frame that stalls half-way is dropped after T_byte and RESEND brings it again, long before T_ack', async () => {
    let cut = 0;
    const [a, b] = createMemoryBytePair({ fault: (c, dir) => (dir === 'a→b' && c[0] === 0x30 && cut++ === 0 ? c.subarray(0, 30) : c) });
    const sender = createKdcomLink(a, { role: 'target-facing', ackTimeoutMs: 60_000, byteTimeoutMs: 20 });
    const receiver = createKdcomLink(b, { role: 'debugger-facing', ackTimeoutMs: 60_000, byteTimeoutMs: 20 });
    links.push(sender, receiver);
    const got: LinkEvent[] = [];
    receiver.events$.subscribe((e) => got.push(e));
    await sender.send(packet(2, ...new Array<number>(100).fill(7)));
    expect(got.filter((e) => e.kind === 'packet')).toHaveLength(1);
    expect(receiver.stats()).toMatchObject({ badFrames: 1, resends: 1 });
    expect(sender.stats().resends).toBe(1);
  });
});
