import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  KdRecvCode,
  decodeKdrpcReply,
  encodeKdrpcRequest,
  kdrpcTestRequest,
  withKdrpcPrefix,
  type LinkEvent,
} from '@vmkd/kd-protocol';
import { createEmulatedVmx, createKdrpcHost, createRpci, type KdrpcHost } from '../src/index.js';

const hosts: KdrpcHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});
function newHost(options: Parameters<typeof createKdrpcHost>[0] = {}): KdrpcHost {
  const host = createKdrpcHost(options);
  hosts.push(host);
  return host;
}

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/).map((b) => Number.parseInt(b, 16)));
const v = encodeKdrpcRequest({ command: 'v', version: 0x07e80003 });
const r = (packetType: number, max1 = 56, max2 = 4096): Uint8Array =>
  encodeKdrpcRequest({
    command: 'r',
    packetType,
    globals: 0x104,
    buffer1: { length: 0, maxLength: packetType === 8 ? 0 : max1 },
    buffer2: { length: 0, maxLength: packetType === 8 ? 0 : max2 },
    context: { retryCount: 0, breakInRequested: false },
  });
const s = (packetType: number, data1: Uint8Array, data2 = new Uint8Array(0)): Uint8Array =>
  encodeKdrpcRequest({
    command: 's',
    packetType,
    globals: 0x104,
    buffer1: { length: data1.length, maxLength: data1.length },
    buffer2: { length: data2.length, maxLength: data2.length },
    context: { retryCount: 10, breakInRequested: false },
    data1,
    data2,
  });

describe('KDRPC host: the dispatcher role', () => {
  it('answers v with its version and the t pattern, and reports connect', async () => {
    const host = newHost();
    const connect = firstValueFrom(host.events$.pipe(filter((e) => e.kind === 'connect')));
    expect(await host.handleRequest(v)).toEqual(hex('2B 2B 6B 64 56 4D 76 41 20 03 00 E8 07'));
    await connect;
    const t = decodeKdrpcReply('t', await host.handleRequest(encodeKdrpcRequest(kdrpcTestRequest())));
    expect(t.command === 't' && Array.from(t.pattern.subarray(0, 4))).toEqual([0x55, 0x54, 0x57, 0x56]);
    expect(host.status()).toMatchObject({ versionAccepted: true, testsPassed: 1, guestVersion: 0x07e80003 });
  });

  it('answers the break-in poll of §4.11 with the TIMEOUT reply of §4.11', async () => {
    const host = newHost();
    await host.handleRequest(v);
    const reply = await host.handleRequest(r(8));
    expect(reply).toEqual(
      hex(`2B 2B 6B 64 56 4D 76 41 20 72 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 01 00 00`),
    );
  });

  it('rejects malformed bodies, t before v and old guests with an empty reply', async () => {
    const host = newHost();
    expect((await host.handleRequest(encodeKdrpcRequest(kdrpcTestRequest()))).length).toBe(0); // t before v
    expect((await host.handleRequest(encodeKdrpcRequest({ command: 'v', version: 0x101 }))).length).toBe(0);
    await host.handleRequest(v);
    const bad = [r(2).subarray(0, 22), new Uint8Array(24).fill(0x72, 0, 1), s(2, new Uint8Array(8)).subarray(0, 38), Uint8Array.of(0x7a), new Uint8Array(0)];
    for (const body of bad) expect((await host.handleRequest(body)).length).toBe(0);
    expect(host.status().rejected).toBe(2 + bad.length);
    expect(host.status().lastRejection).toMatch(/KDRPC/);
    // …and keeps serving.
    expect((await host.handleRequest(r(8))).length).toBe(44);
  });

  it('through the VMX: rejections become "0 <code>" replies, a wrong prefix is an unknown command', async () => {
    const host = newHost();
    const vmx = createEmulatedVmx();
    vmx.register('~kdVMvA', host.vmxHandler);
    const rpci = createRpci(vmx);
    const ok = await rpci.send(withKdrpcPrefix(v));
    expect(ok.ok).toBe(true);
    const truncated = await rpci.send(withKdrpcPrefix(r(2).subarray(0, 20)));
    expect([truncated.ok, truncated.text]).toEqual([false, 'ERR_KDRPC_BAD_LENGTH']);
    const wrongPrefix = await rpci.send(new TextEncoder().encode('~kdVMvB v'));
    expect([wrongPrefix.ok, wrongPrefix.text]).toEqual([false, 'Unknown command']);
  });

  it('s → a packet event; debugger packets wait for the guest r; r waits only a bounded time', async () => {
    const host = newHost({ receiveWaitMs: 30 });
    const packets = firstValueFrom(host.events$.pipe(filter((e) => e.kind === 'packet'), take(1)));
    await host.handleRequest(v);
    const sent = decodeKdrpcReply('s', await host.handleRequest(s(3, Uint8Array.of(1, 2, 3, 4), Uint8Array.of(5, 6))));
    expect(sent).toMatchObject({ globals: 0x104 });
    expect(await packets).toEqual({ kind: 'packet', packet: { type: 3, payload: Uint8Array.of(1, 2, 3, 4, 5, 6) } });

    const started = Date.now();
    const idle = decodeKdrpcReply('r', await host.handleRequest(r(2)));
    expect(idle.command === 'r' && idle.status).toBe(KdRecvCode.Timeout);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);

    const payload = new Uint8Array(100).map((_, i) => i);
    const delivered = host.send({ type: 2, payload });
    const got = decodeKdrpcReply('r', await host.handleRequest(r(2)));
    await delivered;
    expect(got).toMatchObject({ status: KdRecvCode.Ok, payloadBytes: 44, buffer1: { length: 56, maxLength: 56 }, buffer2: { length: 44 } });
    if (got.command === 'r') expect([...got.data1, ...got.data2]).toEqual([...payload]);

    // A waiting r is answered as soon as a packet arrives.
    const waiting = host.handleRequest(r(2));
    await host.send({ type: 2, payload: Uint8Array.of(9) });
    expect(decodeKdrpcReply('r', await waiting)).toMatchObject({ status: KdRecvCode.Ok, payloadBytes: 0 });
  });

  it('a break-in is answered on the next poll, never consuming data packets', async () => {
    const host = newHost();
    await host.handleRequest(v);
    const queued = host.send({ type: 2, payload: new Uint8Array(56) });
    await host.breakIn();
    const poll = decodeKdrpcReply('r', await host.handleRequest(r(8)));
    expect(poll).toMatchObject({ status: KdRecvCode.Ok, context: { breakInRequested: true } });
    expect(decodeKdrpcReply('r', await host.handleRequest(r(8)))).toMatchObject({ status: KdRecvCode.Timeout });
    expect(host.status().queuedPackets).toBe(1);
    await host.handleRequest(r(2));
    await queued;
    expect(host.stats().breakins).toBe(1);
  });

  it('a break-in that arrives while a receive waits is reported once, in that reply', async () => {
    const host = newHost({ receiveWaitMs: 40 });
    await host.handleRequest(v);
    const waiting = host.handleRequest(r(2));
    await host.breakIn();
    expect(decodeKdrpcReply('r', await waiting)).toMatchObject({ status: KdRecvCode.Timeout, context: { breakInRequested: true } });
    expect(decodeKdrpcReply('r', await host.handleRequest(r(8)))).toMatchObject({ status: KdRecvCode.Timeout, context: { breakInRequested: false } });
  });

  it('resync() flushes queued packets and answers the next r with FAILED', async () => {
    const host = newHost();
    await host.handleRequest(v);
    const stale = host.send({ type: 2, payload: new Uint8Array(56) });
    await host.resync();
    await expect(stale).rejects.toMatchObject({ code: 'ERR_KDRPC_FLUSHED', canceled: true });
    expect(decodeKdrpcReply('r', await host.handleRequest(r(2)))).toMatchObject({ status: KdRecvCode.Failed });
  });

  it('resync() answers a receive that is already waiting with FAILED, so the kernel re-sends its state change', async () => {
    // A receive wait far longer than the test may take: only the wake-up can answer it in time.
    const host = newHost({ receiveWaitMs: 60_000 });
    await host.handleRequest(v);
    const waiting = host.handleRequest(r(2));
    await new Promise((res) => setTimeout(res, 5));
    await host.resync();
    expect(decodeKdrpcReply('r', await waiting)).toMatchObject({ status: KdRecvCode.Failed });
    expect(host.stats().resyncs).toBe(1);
    // Consumed once: the next receive waits for a packet as usual.
    const next = host.handleRequest(r(2));
    await host.send({ type: 2, payload: new Uint8Array(56) });
    expect(decodeKdrpcReply('r', await next)).toMatchObject({ status: KdRecvCode.Ok });
  });

  it('without a debugger, s gets the retry bit and nothing is forwarded', async () => {
    const host = newHost({ debuggerPresent: false });
    const seen: LinkEvent[] = [];
    host.events$.subscribe((e) => seen.push(e));
    await host.handleRequest(v);
    expect(decodeKdrpcReply('s', await host.handleRequest(s(3, Uint8Array.of(1))))).toMatchObject({ globals: 0x107 });
    host.setDebuggerPresent(true);
    expect(decodeKdrpcReply('s', await host.handleRequest(s(3, Uint8Array.of(1))))).toMatchObject({ globals: 0x104 });
    await new Promise((res) => setTimeout(res, 0));
    expect(seen.filter((e) => e.kind === 'packet').length).toBe(1);
  });

  it('a packet too large for the guest buffers fails its send; a wrong-type packet is dropped', async () => {
    const host = newHost();
    await host.handleRequest(v);
    const big = host.send({ type: 2, payload: new Uint8Array(200) });
    expect(decodeKdrpcReply('r', await host.handleRequest(r(2, 56, 100)))).toMatchObject({ status: KdRecvCode.Failed });
    await expect(big).rejects.toMatchObject({ code: 'ERR_LINK_PACKET_TOO_LARGE' });
    const other = host.send({ type: 3, payload: new Uint8Array(16) });
    const timeoutHost = decodeKdrpcReply('r', await host.handleRequest(r(2)));
    await other;
    expect(timeoutHost).toMatchObject({ status: KdRecvCode.Timeout });
    expect(host.status().droppedPackets).toBe(1);
  });

  it('send() times out when no guest takes the packet; close() cancels', async () => {
    const host = newHost({ sendTimeoutMs: 30 });
    await expect(host.send({ type: 2, payload: new Uint8Array(56) })).rejects.toMatchObject({ code: 'ERR_LINK_TIMEOUT' });
    const pending = host.send({ type: 2, payload: new Uint8Array(56) });
    await host.close();
    await expect(pending).rejects.toMatchObject({ canceled: true });
    await expect(host.breakIn()).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED' });
  });

  it('a silent guest is reported gone; guestGone() too; a new v reconnects', async () => {
    const host = newHost({ guestIdleTimeoutMs: 40 });
    const kinds = firstValueFrom(host.events$.pipe(take(4), toArray()));
    await host.handleRequest(v);
    await firstValueFrom(host.events$.pipe(filter((e) => e.kind === 'disconnect')));
    expect(host.connected).toBe(false);
    await host.handleRequest(v);
    host.guestGone('test');
    expect((await kinds).map((e) => e.kind)).toEqual(['connect', 'disconnect', 'connect', 'disconnect']);
  });
});
