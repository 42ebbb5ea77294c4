import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { VmkdError, type LinkEvent, type PacketLink } from '@vmkd/kd-protocol';
import { createKdrpcGuestLink, createKdrpcHost, type KdrpcCall, type KdrpcGuestLink, type KdrpcHost } from '../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function pair(
  hostOptions: Parameters<typeof createKdrpcHost>[0] = {},
  guestOptions: Parameters<typeof createKdrpcGuestLink>[1] = {},
  wrap: (call: KdrpcCall) => KdrpcCall = (c) => c,
): { host: KdrpcHost; guest: KdrpcGuestLink; events: LinkEvent[] } {
  const host = createKdrpcHost({ receiveWaitMs: 20, ...hostOptions });
  const guest = createKdrpcGuestLink(wrap((body) => host.handleRequest(body)), guestOptions);
  const events: LinkEvent[] = [];
  guest.events$.subscribe((e) => events.push(e));
  cleanups.push(() => host.close(), () => guest.close());
  return { host, guest, events };
}

const next = (link: PacketLink, kind: LinkEvent['kind']): Promise<LinkEvent> => firstValueFrom(link.events$.pipe(filter((e) => e.kind === kind)));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A manipulate request of the given API number (56-byte header). */
function manipulate(api: number): Uint8Array {
  const out = new Uint8Array(56);
  new DataView(out.buffer).setUint32(0, api, true);
  return out;
}

describe('KDRPC guest link (the kdvm.dll role)', () => {
  it('handshakes (v + t × testCount), then connects on both sides', async () => {
    const { host, guest } = pair({}, { testCount: 5 });
    await Promise.all([next(guest, 'connect'), next(host, 'connect')]);
    expect(guest.status()).toMatchObject({ connected: true, hostVersion: 0x07e80003, handshakes: 1, mode: 'running' });
    expect(host.status()).toMatchObject({ testsPassed: 5 });
    await expect(guest.breakIn()).rejects.toMatchObject({ code: 'ERR_LINK_UNSUPPORTED' });
    await expect(guest.resync()).rejects.toMatchObject({ code: 'ERR_LINK_UNSUPPORTED' });
  });

  it('refuses a host older than itself and keeps retrying', async () => {
    const { guest } = pair({ version: 0x07e40002 });
    await sleep(200);
    expect(guest.connected).toBe(false);
    expect(guest.status().lastError?.code).toBe('ERR_KDRPC_HOST_TOO_OLD');
    expect(guest.status().handshakes).toBeGreaterThan(1);
  });

  it('polls for break-in with backoff while running (an idle guest does not spin) and reports the break-in', async () => {
    const { host, guest } = pair({}, { pollIntervalMs: 10 });
    await next(guest, 'connect');
    const before = host.status().polls;
    await sleep(300);
    const polls = host.status().polls - before;
    expect(polls).toBeGreaterThan(5);
    expect(polls).toBeLessThan(80);
    const breakin = next(guest, 'breakin');
    await host.breakIn();
    await breakin;
    expect(guest.stats().breakins).toBe(1);
  });

  it('follows the kernel: type-2 receives after a state change, polls again after Continue', async () => {
    const { host, guest, events } = pair();
    await next(guest, 'connect');
    const packetAtHost = next(host, 'packet');
    await guest.send({ type: 7, payload: new Uint8Array(240).fill(7) });
    expect(await packetAtHost).toMatchObject({ packet: { type: 7 } });
    expect(guest.status().mode).toBe('stopped');

    const request = manipulate(0x3130);
    const delivered = next(guest, 'packet');
    await host.send({ type: 2, payload: request });
    expect(await delivered).toEqual({ kind: 'packet', packet: { type: 2, payload: request } });
    await guest.send({ type: 2, payload: request });

    const polls = host.status().polls;
    await host.send({ type: 2, payload: manipulate(0x3136) }); // Continue: the kernel resumes, no reply
    await sleep(100);
    expect(guest.status().mode).toBe('running');
    expect(host.status().polls).toBeGreaterThan(polls);
    expect(events.filter((e) => e.kind === 'packet').length).toBe(2);
  });

  it('a resync reaches the kernel as reset while it waits for requests', async () => {
    const { host, guest } = pair();
    await next(guest, 'connect');
    await guest.send({ type: 7, payload: new Uint8Array(64) });
    const reset = next(guest, 'reset');
    await host.resync();
    await reset;
    expect(guest.stats().resyncs).toBe(1);
  });

  it('repeats a send the host asks to retry, until the debugger is there', async () => {
    const { host, guest } = pair({ debuggerPresent: false });
    await next(guest, 'connect');
    let settled = false;
    const sent = guest.send({ type: 3, payload: new Uint8Array(20) }).then(() => (settled = true));
    await sleep(80);
    expect(settled).toBe(false);
    expect(guest.status().debuggerPresent).toBe(false);
    const atHost = next(host, 'packet');
    host.setDebuggerPresent(true);
    await sent;
    await atHost;
    expect(guest.stats().resends).toBeGreaterThan(1);
  });

  it('a vanished host: disconnect after repeated failures, sends time out, reconnects when it is back', async () => {
    let hostUp = true;
    const { guest } = pair({}, { sendTimeoutMs: 150, failuresBeforeDisconnect: 2 }, (call) => (body) => {
      if (!hostUp) return Promise.reject(new VmkdError('ERR_TEST_DOWN', 'host down'));
      return call(body);
    });
    await next(guest, 'connect');
    const down = next(guest, 'disconnect');
    hostUp = false;
    const disconnect = await down;
    expect(disconnect).toMatchObject({ kind: 'disconnect', error: { code: 'ERR_LINK_DISCONNECTED', disconnected: true } });
    await expect(guest.send({ type: 3, payload: new Uint8Array(4) })).rejects.toMatchObject({ code: 'ERR_LINK_TIMEOUT' });
    const up = next(guest, 'connect');
    hostUp = true;
    await up;
    expect(guest.status().handshakes).toBeGreaterThanOrEqual(2);
  });

  it('close() cancels pending sends and completes events', async () => {
    const { guest } = pair({ debuggerPresent: false });
    await next(guest, 'connect');
    const pending = guest.send({ type: 3, payload: new Uint8Array(4) });
    const completed = new Promise<void>((resolve) => guest.events$.subscribe({ complete: resolve }));
    await guest.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED', canceled: true });
    await completed;
    await expect(guest.send({ type: 3, payload: new Uint8Array(4) })).rejects.toMatchObject({ canceled: true });
    await expect(guest.send({ type: 3, payload: new Uint8Array(5000) })).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED' });
  });
});
