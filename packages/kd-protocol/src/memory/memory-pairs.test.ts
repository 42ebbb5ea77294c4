import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { isVmkdError } from '../errors.js';
import type { LinkEvent } from '../packet-link.js';
import { createMemoryBytePair } from './memory-byte-pair.js';
import { createMemoryPacketPair } from './memory-packet-pair.js';

describe('createMemoryBytePair', () => {
  it('carries bytes both ways in order, asynchronously, and completes on close', async () => {
    const [a, b] = createMemoryBytePair();
    const gotB = firstValueFrom(b.data$.pipe(toArray()));
    const gotA = firstValueFrom(a.data$.pipe(toArray()));
    const buf = Uint8Array.of(1, 2, 3);
    await a.write(buf);
    buf[0] = 9; // the pair copied on write
    await a.write(Uint8Array.of(4));
    await b.write(Uint8Array.of(7));
    await a.close();
    expect((await gotB).map((c) => [...c])).toEqual([[1, 2, 3], [4]]);
    expect((await gotA).map((c) => [...c])).toEqual([[7]]);
    expect(a.stats()).toEqual({ bytesIn: 1, bytesOut: 4, chunksIn: 1, chunksOut: 2 });
    await expect(a.write(Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED', canceled: true });
  });

  it('applies the fault hook and reports an abort as ERR_LINK_DISCONNECTED', async () => {
    const [a, b] = createMemoryBytePair({ fault: (c, dir) => (dir === 'a→b' && c[0] === 0 ? null : c.map((x) => x ^ 1)) });
    const got: number[][] = [];
    const done = new Promise<unknown>((resolve) => b.data$.subscribe({ next: (c) => got.push([...c]), error: resolve }));
    await a.write(Uint8Array.of(0, 1));
    await a.write(Uint8Array.of(2, 3));
    a.abort();
    const error = await done;
    expect(got).toEqual([[3, 2]]);
    expect(isVmkdError(error, 'ERR_LINK_DISCONNECTED')).toBe(true);
  });
});

describe('createMemoryPacketPair', () => {
  it('delivers packets, break-ins and resets to the other end', async () => {
    const [tf, df] = createMemoryPacketPair();
    const atD: LinkEvent[] = [];
    const atT: LinkEvent[] = [];
    df.events$.subscribe((e) => atD.push(e));
    tf.events$.subscribe((e) => atT.push(e));
    await tf.send({ type: 2, payload: Uint8Array.of(1, 2) });
    await tf.breakIn();
    await tf.resync();
    await df.send({ type: 7, payload: Uint8Array.of(3) });
    expect(atD.map((e) => e.kind)).toEqual(['connect', 'packet', 'breakin', 'reset']);
    expect(atT.map((e) => e.kind)).toEqual(['connect', 'packet']);
    expect(atT[1]).toEqual({ kind: 'packet', packet: { type: 7, payload: Uint8Array.of(3) } });
    expect(df.stats()).toMatchObject({ packetsIn: 1, packetsOut: 1, breakins: 1, resyncs: 1 });
    await expect(df.breakIn()).rejects.toMatchObject({ code: 'ERR_LINK_UNSUPPORTED' });
    await expect(df.resync()).rejects.toMatchObject({ code: 'ERR_LINK_UNSUPPORTED' });
    await expect(tf.send({ type: 2, payload: new Uint8Array(5000) })).rejects.toMatchObject({ code: 'ERR_LINK_PACKET_TOO_LARGE' });
  });

  it('close() completes our events, tells the peer and fails its later sends', async () => {
    const [tf, df] = createMemoryPacketPair();
    const atD: LinkEvent[] = [];
    df.events$.subscribe((e) => atD.push(e));
    const tDone = firstValueFrom(tf.events$.pipe(toArray()));
    const inFlight = tf.send({ type: 2, payload: Uint8Array.of(1) });
    await tf.close();
    await expect(inFlight).rejects.toMatchObject({ code: 'ERR_LINK_CLOSED', canceled: true });
    await tDone;
    expect(atD.map((e) => e.kind)).toEqual(['connect', 'disconnect']);
    expect(df.connected).toBe(false);
    await expect(df.send({ type: 2, payload: Uint8Array.of(1) })).rejects.toMatchObject({ code: 'ERR_LINK_DISCONNECTED' });
  });

  it('disconnect() reports ERR_LINK_DISCONNECTED to the peer', async () => {
    const [tf, df] = createMemoryPacketPair();
    const atT: LinkEvent[] = [];
    tf.events$.subscribe((e) => atT.push(e));
    await Promise.resolve();
    df.disconnect();
    await new Promise((r) => setTimeout(r, 0));
    expect(atT.map((e) => e.kind)).toEqual(['connect', 'disconnect']);
    const last = atT[1];
    expect(last?.kind === 'disconnect' && last.error?.code).toBe('ERR_LINK_DISCONNECTED');
  });
});
