import { Subject, filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createKdcomLink, createMemoryBytePair, isVmkdError, type ByteLink, type KdPacket, type LinkEvent, type PacketLink } from '@vmkd/kd-protocol';
import { createPersistentKdcomLink, type PersistentKdcomLink } from './persistent-kdcom-link.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function nextEvent(link: PacketLink, kind: LinkEvent['kind']): Promise<LinkEvent> {
  return firstValueFrom(link.events$.pipe(filter((event) => event.kind === kind), timeout(5_000)));
}

const packet = (n: number): KdPacket => ({ type: 7, payload: Uint8Array.of(n, n, n) });

function setup(): { source: Subject<ByteLink>; link: PersistentKdcomLink; events: LinkEvent[] } {
  const source = new Subject<ByteLink>();
  const link = createPersistentKdcomLink({ name: 'endpoint', role: 'debugger-facing', byteLinks$: source, waitForPeerMs: 5_000 });
  const events: LinkEvent[] = [];
  link.events$.subscribe((event) => events.push(event));
  cleanup.push(() => link.close());
  return { source, link, events };
}

/** A debugger on the far side of a fresh memory byte pair. */
function attachDebugger(source: Subject<ByteLink>): { debugger: PacketLink; near: ByteLink } {
  const [near, far] = createMemoryBytePair();
  const dbg = createKdcomLink(far, { role: 'target-facing', ackTimeoutMs: 100 });
  cleanup.push(() => dbg.close());
  source.next(near);
  return { debugger: dbg, near };
}

describe('createPersistentKdcomLink', () => {
  it('carries a send cut short by a disconnect to the next connection, in order', async () => {
    const { source, link, events } = setup();
    // First peer: a byte link whose far end never answers, then vanishes.
    const [near, far] = createMemoryBytePair();
    far.data$.subscribe();
    source.next(near);
    const first = link.send(packet(1));
    const second = link.send(packet(2));
    await new Promise((resolve) => setTimeout(resolve, 30));
    far.abort();
    await nextEvent(link, 'disconnect');
    // The next debugger gets both packets, in order, and the sends resolve.
    const { debugger: dbg } = attachDebugger(source);
    const received: number[] = [];
    dbg.events$.subscribe((event) => {
      if (event.kind === 'packet') received.push(event.packet.payload[0]);
    });
    await dbg.resync();
    await Promise.all([first, second]);
    expect(received).toEqual([1, 2]);
    expect(events.map((e) => e.kind)).toEqual(['connect', 'disconnect', 'connect', 'reset']);
  });

  it('close() rejects queued sends with ERR_LINK_CLOSED and completes events$', async () => {
    const { link } = setup();
    const pending = link.send(packet(3));
    const completed = firstValueFrom(link.events$, { defaultValue: 'completed' });
    await link.close();
    const error = await pending.catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_LINK_CLOSED')).toBe(true);
    expect(await completed).toBe('completed');
    expect(isVmkdError(await link.send(packet(4)).catch((e: unknown) => e), 'ERR_LINK_CLOSED')).toBe(true);
  });

  it('sums stats over connections', async () => {
    const { source, link } = setup();
    for (let i = 0; i < 3; i += 1) {
      const { debugger: dbg } = attachDebugger(source);
      const got = nextEvent(link, 'packet');
      await dbg.send(packet(i));
      await got;
      const gone = nextEvent(link, 'disconnect');
      await dbg.close();
      await gone;
    }
    expect(link.stats().packetsIn).toBe(3);
    expect(link.connections).toBe(3);
  });
});
