import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createDebuggerSession, createMemoryPacketPair, isVmkdError, type OpenedLink } from '@vmkd/kd-protocol';
import { fillExpected } from '@vmkd/sim-target';
import { createSchemeRegistry, holdEventsUntilSubscribed, openEndpoint, openGuest, parseGuestUri, defaultRegistry, simSerialVariant, createSimGuestScheme } from '../src/index.js';
import { countGuestOption, memEndpointScheme, memEndpoints, memsimGuestScheme } from './example/memory-scheme.js';

const opened: OpenedLink[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

function exampleRegistry() {
  const registry = createSchemeRegistry().guest(memsimGuestScheme).endpoint(memEndpointScheme).guestOption(countGuestOption).simVariant(simSerialVariant);
  return registry.guest(createSimGuestScheme(registry.simVariants));
}

describe('adding a scheme (docs/adding-a-scheme.md)', () => {
  it('a registered guest scheme opens through openGuest, and a DebuggerSession attaches over it', async () => {
    const registry = exampleRegistry();
    const guest = await openGuest('memsim://?cpus=2', { registry });
    opened.push(guest);
    // Another await between opening and using the link: nothing it said meanwhile is lost.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const session = createDebuggerSession(guest.link, { timeoutMs: 10_000 });
    await session.attach();
    const base = guest.sim!.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 8192);
    expect(Buffer.from(read.data).equals(Buffer.from(fillExpected(base, new Uint8Array(8192))))).toBe(true);
    await session.close();
  });

  it('a registered endpoint scheme opens through openEndpoint with its address and command lines', async () => {
    const endpoint = await openEndpoint('mem://demo', { registry: exampleRegistry() });
    opened.push(endpoint);
    expect(endpoint.address).toBe('mem://demo');
    expect(endpoint.debuggerCommands?.[0]?.debugger).toBe('vmkd');
    expect(memEndpoints.has('demo')).toBe(true);
  });

  it('a guest option wraps the guests it applies to, and its key never reaches the scheme', async () => {
    const registry = exampleRegistry();
    const guest = await openGuest('memsim://?count=1', { registry });
    opened.push(guest);
    const notices = firstValueFrom(guest.notices$.pipe(take(1), toArray()));
    const session = createDebuggerSession(guest.link, { timeoutMs: 10_000 });
    await session.attach();
    expect((await notices)[0]).toMatch(/packet\(s\) from the guest/);
    await session.close();
    // sim:// lists count= among its schemes; a scheme it does not list refuses the key as unknown.
    expect(() => parseGuestUri('sim://?count=1', registry)).not.toThrow();
    expect(() => parseGuestUri('serial+tcp://127.0.0.1:1?count=1')).toThrow(/unknown query parameter "count"/);
  });

  it('refuses a second provider for a scheme', () => {
    const registry = createSchemeRegistry().guest(memsimGuestScheme);
    let error: unknown;
    try {
      registry.guest(memsimGuestScheme);
    } catch (e) {
      error = e;
    }
    expect(isVmkdError(error, 'ERR_CONNECT_DUPLICATE_SCHEME')).toBe(true);
  });

  it('lists the registered schemes in an unknown-scheme error', () => {
    expect(() => parseGuestUri('ftp://x', exampleRegistry())).toThrow(/unknown guest scheme "ftp:"; use one of memsim:, sim:/);
    expect([...defaultRegistry.guests.keys()]).toEqual(['serial+tcp', 'serial+unix', 'serial+pipe', 'serial', 'kdrpc+proxypipe', 'kdrpc+proxyunix', 'kdnet', 'sim']);
    expect([...defaultRegistry.endpoints.keys()]).toEqual(['pipe', 'unix', 'tcp', 'kdnet', 'gdb']);
  });
});

describe('holdEventsUntilSubscribed', () => {
  it('keeps what the link said before the first subscriber, and hands it over asynchronously, in order', async () => {
    const [a, b] = createMemoryPacketPair();
    const held = holdEventsUntilSubscribed(a);
    await b.send({ type: 2, payload: new Uint8Array([1]) });
    await b.send({ type: 2, payload: new Uint8Array([2]) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const seen: string[] = [];
    held.events$.subscribe((event) => seen.push(event.kind === 'packet' ? `packet ${event.packet.payload[0]}` : event.kind));
    // Not inside subscribe(): whoever subscribed can finish wiring up first.
    expect(seen).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['connect', 'packet 1', 'packet 2']);
    await b.send({ type: 2, payload: new Uint8Array([3]) });
    expect(seen.at(-1)).toBe('packet 3');
    await a.close();
    await b.close();
  });

  it('is bounded: past its limit the oldest held events go, counted', async () => {
    const [a, b] = createMemoryPacketPair();
    const held = holdEventsUntilSubscribed(a);
    for (let i = 0; i < 1100; i++) await b.send({ type: 2, payload: new Uint8Array([i & 0xff]) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // 1101 events (connect + 1100 packets) against a limit of 1024.
    expect(held.droppedEvents).toBe(77);
    const first = await firstValueFrom(held.events$);
    expect(first.kind === 'packet' && first.packet.payload[0]).toBe(76);
    await a.close();
    await b.close();
  });
});
