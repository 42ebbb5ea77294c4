import type { DebuggerSession } from '@vmkd/kd-protocol';
import { fillExpected } from '@vmkd/sim-target';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadAhead } from '../src/kernel/read-ahead.js';
import { openSimRoute, type SimRoute } from './sim-route.js';

const BLOCK = 8192;

/** The endpoint's real session, with the KD reads the read-ahead issues counted (one per chunk). */
function counting(session: DebuggerSession): { session: DebuggerSession; chunkReads: () => number } {
  let reads = 0;
  const counted = new Proxy(session, {
    get(target, key) {
      if (key === 'readVirtualInto') {
        return (...args: Parameters<DebuggerSession['readVirtualInto']>) => {
          reads++;
          return target.readVirtualInto(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { session: counted, chunkReads: () => reads };
}

const expected = (address: bigint, length: number): Uint8Array => fillExpected(address, new Uint8Array(length));

describe('ReadAhead over a real route to the virtual kernel', () => {
  let r: SimRoute;
  let base: bigint;

  beforeAll(async () => {
    r = await openSimRoute();
    await r.endpoint.session.attach();
    base = r.sim.layout.dataRegion.virtualBase + 0x20000n;
  });
  afterAll(async () => {
    await r?.close();
  });

  it('serves a sequential run of blocks with the bytes the kernel holds, reading ahead of the client', async () => {
    const { session, chunkReads } = counting(r.endpoint.session);
    const ahead = new ReadAhead(session, 4096, 2);
    for (let i = 0; i < 5; i++) {
      const at = base + BigInt(i * BLOCK);
      const got = await ahead.read(at, BLOCK, 0);
      expect(got.bytesRead).toBe(BLOCK);
      expect(Buffer.compare(got.data, expected(at, BLOCK))).toBe(0);
    }
    // Blocks 1–4 came from the read-ahead (one KD read per 3,944-byte chunk: 3 per block), and
    // blocks 5 and 6 are queued behind them.
    expect(chunkReads()).toBeGreaterThanOrEqual(4 * 3);
    ahead.invalidate();
  });

  it('drops the queue when the client asks for something else: at most the one KD read in flight is waited for', async () => {
    const { session, chunkReads } = counting(r.endpoint.session);
    const ahead = new ReadAhead(session, 4096, 2);
    await ahead.read(base, BLOCK, 0);
    const elsewhere = base + 0x100000n;
    const got = await ahead.read(elsewhere, 100, 0);
    expect(Buffer.compare(got.data, expected(elsewhere, 100))).toBe(0);
    // A 100-byte read is below the threshold: nothing new is queued, and of the two blocks queued
    // after the first read only the KD read already sent was made.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(chunkReads()).toBe(1);
  });

  it('lets the event loop run between its KD reads (a guest in this process answers through promises alone)', async () => {
    const { session, chunkReads } = counting(r.endpoint.session);
    const ahead = new ReadAhead(session, 4096, 2);
    await ahead.read(base, BLOCK, 0);
    const started = chunkReads();
    // What the socket would do next: the client's next request, a reply to flush. Without the
    // yield the whole prefetch (two blocks, six KD reads) ran before this callback could.
    const seen = await new Promise<number>((resolve) => setImmediate(() => resolve(chunkReads())));
    expect(seen - started).toBeLessThanOrEqual(2);
    const got = await ahead.read(base + BigInt(BLOCK), BLOCK, 0);
    expect(Buffer.compare(got.data, expected(base + BigInt(BLOCK), BLOCK))).toBe(0);
    ahead.invalidate();
  });

  it('after a write and invalidate() the next read sees the new bytes, not the block read ahead before', async () => {
    const ahead = new ReadAhead(r.endpoint.session, 4096, 2);
    await ahead.read(base, BLOCK, 0);
    const next = base + BigInt(BLOCK);
    await r.endpoint.session.writeVirtual(next + 10n, Uint8Array.of(0xde, 0xad));
    ahead.invalidate();
    const got = await ahead.read(next, BLOCK, 0);
    expect([...got.data.subarray(10, 12)]).toEqual([0xde, 0xad]);
    await r.endpoint.session.writeVirtual(next + 10n, expected(next + 10n, 2));
    ahead.invalidate();
  });

  it('a block that runs into unreadable memory is answered as the session answers it: the readable prefix and the failure', async () => {
    const end = r.sim.layout.dataRegion.virtualBase + r.sim.layout.dataRegion.size;
    const first = end - BigInt(BLOCK) - 4096n;
    const ahead = new ReadAhead(r.endpoint.session, 4096, 2);
    expect((await ahead.read(first, BLOCK, 0)).bytesRead).toBe(BLOCK);
    const got = await ahead.read(first + BigInt(BLOCK), BLOCK, 0);
    const direct = await r.endpoint.session.readVirtual(first + BigInt(BLOCK), BLOCK);
    expect(got.bytesRead).toBe(4096);
    expect(got.bytesRead).toBe(direct.bytesRead);
    expect(got.status).toBe(direct.status);
    expect(Buffer.compare(got.data.subarray(0, got.bytesRead), expected(first + BigInt(BLOCK), 4096))).toBe(0);
  });
});
