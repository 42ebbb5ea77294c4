import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { titleWithSkip } from './capabilities.js';
import { KdApi, KdPacketType } from '../api/constants.js';
import { LinkErrorCode, isVmkdError } from '../errors.js';
import type { KdPacket, LinkEvent, PacketLink } from '../packet-link.js';

/**
 * Two connected ends of one PacketLink implementation: what a debugger holds (`targetFacing`, its
 * far end is a target) and what a target holds (`debuggerFacing`). For a one-sided implementation
 * (an endpoint, a KDRPC host), the other end is whatever real peer it talks to (a KDCOM link on a
 * socket, the KDRPC guest).
 */
export interface PacketLinkPair {
  readonly targetFacing: PacketLink;
  readonly debuggerFacing: PacketLink;
  /**
   * Make one end's transport vanish abnormally (a socket destroyed, a VM gone), so the *other* end
   * must report `disconnect`. Omit it when the implementation has no such fault to inject; the
   * vanish test is then skipped with that reason.
   */
  vanish?(side: 'targetFacing' | 'debuggerFacing'): void | Promise<void>;
  /** Release what the pair holds besides the two links (servers, relays, directories). The suite closes the links. */
  dispose?(): void | Promise<void>;
}

export interface PacketLinkContractOptions {
  /** How long to wait for anything the contract expects, in ms. Default 5000 (generous: tests run on busy machines). */
  readonly timeoutMs?: number;
  /** Largest payload both ends must carry. Default 4000 (PACKET_MAX_SIZE, what KDCOM sends). */
  readonly maxPayload?: number;
  /** Packets per direction in the ordering tests. Default 40. */
  readonly packets?: number;
  /**
   * Why this pair cannot be made here (from `skipUnlessCapable`, e.g. Unix sockets on Windows):
   * the whole contract is skipped with that reason in its title. Undefined: it runs.
   */
  readonly skip?: string | undefined;
}

type Side = 'targetFacing' | 'debuggerFacing';

/** Everything one end reported, with waiting helpers. */
interface Recorder {
  readonly events: LinkEvent[];
  readonly completed: boolean;
  packets(type?: number): KdPacket[];
  waitFor(predicate: (events: readonly LinkEvent[]) => boolean, what: string): Promise<void>;
  stop(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The PacketLink contract (packet-link.ts) as a vitest suite every implementation runs:
 * `describePacketLinkContract('KDCOM over a Unix socket', async () => ({ targetFacing, debuggerFacing }))`.
 *
 * The traffic is a KD conversation, so that every transport can carry it however it schedules its
 * receives (a KDRPC guest only takes manipulate requests once its kernel is stopped): the target
 * announces a stop (STATE_CHANGE64), the debugger sends manipulate requests, the target answers
 * each one; DbgPrints travel target → debugger.
 *
 * It checks: `connect` on both ends, held for a subscriber that comes late; events delivered
 * asynchronously; packets in order and exactly once both ways, pipelined or not; payloads copied
 * on send; oversized payloads refused before anything is queued; break-in; resync followed by a
 * clean conversation; breakIn()/resync() refused on the debugger-facing end; close() idempotent,
 * completing `events$` and rejecting pending and later calls with `ERR_LINK_CLOSED` (`canceled`);
 * the peer reporting `disconnect` when one end closes or vanishes, and its sends rejecting then.
 */
export function describePacketLinkContract(name: string, makePair: () => PacketLinkPair | Promise<PacketLinkPair>, options: PacketLinkContractOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxPayload = options.maxPayload ?? 4000;
  const count = options.packets ?? 40;

  describe.skipIf(options.skip !== undefined)(titleWithSkip(`PacketLink contract: ${name}`, options.skip), () => {
    const cleanups: (() => unknown)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function open(): Promise<PacketLinkPair> {
      const pair = await makePair();
      cleanups.push(async () => {
        await Promise.allSettled([pair.targetFacing.close(), pair.debuggerFacing.close()]);
        await pair.dispose?.();
      });
      return pair;
    }

    function record(link: PacketLink): Recorder {
      const events: LinkEvent[] = [];
      let completed = false;
      let wake: (() => void) | undefined;
      const subscription: Subscription = link.events$.subscribe({
        next: (event) => {
          events.push(event);
          wake?.();
        },
        complete: () => {
          completed = true;
          wake?.();
        },
      });
      cleanups.push(() => subscription.unsubscribe());
      const recorder: Recorder = {
        events,
        get completed() {
          return completed;
        },
        packets: (type) => events.flatMap((e) => (e.kind === 'packet' && (type === undefined || e.packet.type === type) ? [e.packet] : [])),
        async waitFor(predicate, what) {
          const deadline = Date.now() + timeoutMs;
          while (!predicate(events)) {
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`${link.name}: timed out after ${timeoutMs} ms waiting for ${what}; saw ${describeEvents(events)}`);
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, Math.min(left, 50));
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wake = undefined;
          }
        },
        stop: () => subscription.unsubscribe(),
      };
      return recorder;
    }

    async function until(condition: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(5);
      }
    }

    /** Both ends subscribed and connected, the target stopped and its state change taken by the debugger. */
    async function stopped(): Promise<{ pair: PacketLinkPair; dbg: Recorder; tgt: Recorder }> {
      const pair = await open();
      const dbg = record(pair.targetFacing);
      const tgt = record(pair.debuggerFacing);
      await dbg.waitFor(has('connect'), 'connect');
      await tgt.waitFor(has('connect'), 'connect');
      await pair.debuggerFacing.send(stateChange(1));
      await dbg.waitFor((e) => packetsOf(e, KdPacketType.StateChange64).length === 1, 'the state change');
      return { pair, dbg, tgt };
    }

    /** The target side answers every manipulate request with the same bytes (as a stub echoes the header). */
    function echoRequests(pair: PacketLinkPair, tgt: Recorder): void {
      let answered = 0;
      const timer = setInterval(() => {
        const requests = tgt.packets(KdPacketType.StateManipulate);
        for (; answered < requests.length; answered++) {
          void pair.debuggerFacing.send({ type: KdPacketType.StateManipulate, payload: requests[answered].payload }).catch(() => undefined);
        }
      }, 1);
      cleanups.push(() => clearInterval(timer));
    }

    it('reports connect on both ends, held for a subscriber that comes late', async () => {
      const pair = await open();
      await until(() => pair.targetFacing.connected && pair.debuggerFacing.connected, 'both ends connected');
      // Well after both ends connected: a hot stream that does not hold its events has lost them by now.
      await sleep(30);
      const dbg = record(pair.targetFacing);
      const tgt = record(pair.debuggerFacing);
      await dbg.waitFor(has('connect'), 'connect');
      await tgt.waitFor(has('connect'), 'connect');
      expect(dbg.events[0].kind).toBe('connect');
      expect(tgt.events[0].kind).toBe('connect');
    });

    it('holds packets that arrive before the first subscriber, then goes live', async () => {
      const pair = await open();
      const tgt = record(pair.debuggerFacing);
      await tgt.waitFor(has('connect'), 'connect');
      await until(() => pair.targetFacing.connected, 'the target-facing end connected');
      await pair.debuggerFacing.send(stateChange(7));
      await pair.debuggerFacing.send(print('held'));
      await sleep(20);
      const dbg = record(pair.targetFacing);
      await dbg.waitFor((e) => packetsOf(e).length >= 2, 'the held packets');
      expect(packetsOf(dbg.events).map((p) => p.type)).toEqual([KdPacketType.StateChange64, KdPacketType.DebugIo]);
      await pair.debuggerFacing.send(print('live'));
      await dbg.waitFor((e) => packetsOf(e).length >= 3, 'a live packet');
    });

    it('delivers events asynchronously, never inside send()', async () => {
      const { pair, dbg, tgt } = await stopped();
      const before = dbg.events.length;
      const sent = pair.debuggerFacing.send(print('async'));
      expect(dbg.events.length).toBe(before);
      const tgtBefore = tgt.events.length;
      const request = pair.targetFacing.send(manipulate(1, 0));
      expect(tgt.events.length).toBe(tgtBefore);
      await Promise.all([sent, request]);
    });

    it('delivers packets in order and exactly once, both ways, with pipelined sends', async () => {
      const { pair, dbg, tgt } = await stopped();
      echoRequests(pair, tgt);
      const sizes = (i: number): number => 56 + ((i * 997) % (maxPayload - 56 + 1));
      const requests = Array.from({ length: count }, (_, i) => manipulate(i, sizes(i) - 56));
      const sends = requests.map((r) => pair.targetFacing.send(r));
      await Promise.all(sends);
      await dbg.waitFor((e) => packetsOf(e, KdPacketType.StateManipulate).length >= count, `${count} replies`);
      // Duplicates show up after the last expected packet: give them the time to.
      await sleep(50);
      expect(tgt.packets(KdPacketType.StateManipulate).map(fingerprint)).toEqual(requests.map(fingerprint));
      expect(dbg.packets(KdPacketType.StateManipulate).map(fingerprint)).toEqual(requests.map(fingerprint));

      const prints = Array.from({ length: count }, (_, i) => print(`line ${i} ${'x'.repeat(i * 7)}`));
      await Promise.all(prints.map((p) => pair.debuggerFacing.send(p)));
      await dbg.waitFor((e) => packetsOf(e, KdPacketType.DebugIo).length >= count, `${count} prints`);
      await sleep(50);
      expect(dbg.packets(KdPacketType.DebugIo).map(fingerprint)).toEqual(prints.map(fingerprint));
      expect(pair.targetFacing.stats().packetsIn).toBeGreaterThanOrEqual(2 * count + 1);
      expect(pair.targetFacing.stats().packetsOut).toBeGreaterThanOrEqual(count);
    });

    it('delivers in order when each send is awaited (stop-and-wait)', async () => {
      const { pair, dbg, tgt } = await stopped();
      echoRequests(pair, tgt);
      for (let i = 0; i < 10; i++) {
        await pair.targetFacing.send(manipulate(i, i));
        await dbg.waitFor((e) => packetsOf(e, KdPacketType.StateManipulate).length === i + 1, `reply ${i}`);
      }
      expect(dbg.packets(KdPacketType.StateManipulate).map((p) => readU32(p.payload, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('copies a payload on send(): the caller may reuse its buffer at once', async () => {
      const { pair, dbg, tgt } = await stopped();
      echoRequests(pair, tgt);
      const request = manipulate(5, 100);
      const original = request.payload.slice();
      const sent = pair.targetFacing.send(request);
      request.payload.fill(0xee);
      await sent;
      await dbg.waitFor((e) => packetsOf(e, KdPacketType.StateManipulate).length === 1, 'the reply');
      expect(Array.from(tgt.packets(KdPacketType.StateManipulate)[0].payload)).toEqual(Array.from(original));
    });

    it('refuses an oversized payload with ERR_LINK_PACKET_TOO_LARGE before queueing it, and keeps working', async () => {
      const { pair, dbg, tgt } = await stopped();
      echoRequests(pair, tgt);
      const huge = new Uint8Array(65_537);
      for (const link of [pair.targetFacing, pair.debuggerFacing]) {
        const error: unknown = await link.send({ type: KdPacketType.StateManipulate, payload: huge }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isVmkdError(error, LinkErrorCode.TooLarge), `${link.name}: ${String(error)}`).toBe(true);
      }
      const big = manipulate(3, maxPayload - 56);
      await pair.targetFacing.send(big);
      await dbg.waitFor((e) => packetsOf(e, KdPacketType.StateManipulate).length === 1, 'the reply');
      expect(fingerprint(dbg.packets(KdPacketType.StateManipulate)[0])).toBe(fingerprint(big));
      expect(tgt.packets(KdPacketType.StateManipulate)).toHaveLength(1);
    });

    it('carries a break-in to the target; the debugger-facing end refuses breakIn() and resync()', async () => {
      const pair = await open();
      const dbg = record(pair.targetFacing);
      const tgt = record(pair.debuggerFacing);
      await dbg.waitFor(has('connect'), 'connect');
      await tgt.waitFor(has('connect'), 'connect');
      await pair.targetFacing.breakIn();
      await tgt.waitFor(has('breakin'), 'the break-in');
      for (const call of [() => pair.debuggerFacing.breakIn(), () => pair.debuggerFacing.resync()]) {
        const error: unknown = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isVmkdError(error, LinkErrorCode.Unsupported), String(error)).toBe(true);
      }
      // The stop the break-in causes reaches the debugger.
      await pair.debuggerFacing.send(stateChange(2));
      await dbg.waitFor((e) => packetsOf(e, KdPacketType.StateChange64).length === 1, 'the state change');
    });

    it('resync(): the stopped target sees a reset, then the conversation goes on with nothing lost or doubled', async () => {
      const { pair, dbg, tgt } = await stopped();
      const resynced = pair.targetFacing.resync();
      await tgt.waitFor(has('reset'), 'the reset');
      await resynced;
      // A stopped target answers a reset by announcing its stop again (KD spec 1.6, 1.9).
      await pair.debuggerFacing.send(stateChange(3));
      await dbg.waitFor((e) => packetsOf(e, KdPacketType.StateChange64).length >= 2, 'the state change again');
      echoRequests(pair, tgt);
      const requests = Array.from({ length: 10 }, (_, i) => manipulate(100 + i, i * 3));
      await Promise.all(requests.map((r) => pair.targetFacing.send(r)));
      await dbg.waitFor((e) => packetsOf(e, KdPacketType.StateManipulate).length >= 10, '10 replies');
      await sleep(50);
      expect(tgt.packets(KdPacketType.StateManipulate).map(fingerprint)).toEqual(requests.map(fingerprint));
      expect(dbg.packets(KdPacketType.StateManipulate).map(fingerprint)).toEqual(requests.map(fingerprint));
      expect(dbg.packets(KdPacketType.StateChange64).map((p) => readU32(p.payload, 12))).toEqual([1, 3]);
    });

    for (const side of ['targetFacing', 'debuggerFacing'] as const) {
      it(`close() on the ${side} end: idempotent, completes events$, rejects pending and later calls with ERR_LINK_CLOSED`, async () => {
        const { pair, dbg, tgt } = await stopped();
        const link = pair[side];
        const recorder = side === 'targetFacing' ? dbg : tgt;
        // A send the peer cannot have finished taking before close() runs.
        const pending = link.send(side === 'targetFacing' ? manipulate(9, 8) : print('pending')).then(
          () => undefined,
          (e: unknown) => e,
        );
        await Promise.all([link.close(), link.close()]);
        await link.close();
        const outcome = await pending;
        // Either it made it before the close, or it was cut short with the close's own error.
        if (outcome !== undefined) expectClosed(outcome);
        await until(() => recorder.completed, `${side} events$ to complete`);
        expect(link.connected).toBe(false);
        expectClosed(await rejection(link.send(print('after close'))));
        if (side === 'targetFacing') {
          expectClosed(await rejection(link.breakIn()));
          expectClosed(await rejection(link.resync()));
        }
      });

      it(`the peer reports disconnect when the ${side} end closes, and its sends then fail`, async () => {
        const { pair, dbg, tgt } = await stopped();
        const other: Side = side === 'targetFacing' ? 'debuggerFacing' : 'targetFacing';
        const peer = other === 'targetFacing' ? dbg : tgt;
        await pair[side].close();
        await peer.waitFor(has('disconnect'), 'disconnect');
        expect(pair[other].connected).toBe(false);
        const error = await rejection(pair[other].send(other === 'targetFacing' ? manipulate(1, 1) : print('nobody')), timeoutMs * 3);
        expect(isVmkdError(error) && (error.code === LinkErrorCode.Disconnected || error.code === LinkErrorCode.Timeout), String(error)).toBe(true);
      });

      it(`the peer reports disconnect when the ${side} end vanishes`, async (ctx) => {
        const pair = await open();
        if (pair.vanish === undefined) {
          ctx.skip(`${name} has no way to make an end vanish abnormally`);
          return;
        }
        const other: Side = side === 'targetFacing' ? 'debuggerFacing' : 'targetFacing';
        const peer = record(pair[other]);
        await peer.waitFor(has('connect'), 'connect');
        await until(() => pair[side].connected, `${side} connected`);
        await pair.vanish(side);
        await peer.waitFor(has('disconnect'), 'disconnect');
        expect(pair[other].connected).toBe(false);
      });
    }
  });

  function expectClosed(error: unknown): void {
    expect(isVmkdError(error, LinkErrorCode.Closed) && error.canceled, `expected ERR_LINK_CLOSED (canceled), got ${String(error)}`).toBe(true);
  }

  async function rejection(promise: Promise<unknown>, within = timeoutMs): Promise<unknown> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still pending after ${within} ms`), within)));
    try {
      return await Promise.race([
        promise.then(
          () => 'resolved instead of rejecting',
          (e: unknown) => e,
        ),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function has(kind: LinkEvent['kind']): (events: readonly LinkEvent[]) => boolean {
  return (events) => events.some((e) => e.kind === kind);
}

function packetsOf(events: readonly LinkEvent[], type?: number): KdPacket[] {
  return events.flatMap((e) => (e.kind === 'packet' && (type === undefined || e.packet.type === type) ? [e.packet] : []));
}

function describeEvents(events: readonly LinkEvent[]): string {
  const kinds = events.map((e) => (e.kind === 'packet' ? `packet(${e.packet.type})` : e.kind));
  return kinds.length === 0 ? 'nothing' : kinds.length > 12 ? `${kinds.slice(0, 12).join(', ')} … (${kinds.length})` : kinds.join(', ');
}

/** A STATE_CHANGE64 payload (240 bytes) tagged with `tag` at offset 12 (a field no link reads). */
function stateChange(tag: number): KdPacket {
  const payload = new Uint8Array(240);
  const view = new DataView(payload.buffer);
  view.setUint32(0, 0x3030, true); // DbgKdExceptionStateChange
  view.setUint32(12, tag, true);
  return { type: KdPacketType.StateChange64, payload };
}

/** A manipulate request (never Continue, Reboot or a bugcheck, so every transport expects its reply), tagged and filled. */
function manipulate(tag: number, dataBytes: number): KdPacket {
  const payload = new Uint8Array(56 + dataBytes);
  const view = new DataView(payload.buffer);
  view.setUint32(0, KdApi.ReadVirtualMemory, true);
  view.setUint32(12, tag, true);
  for (let i = 56; i < payload.length; i++) payload[i] = (i * 31 + tag) & 0xff;
  return { type: KdPacketType.StateManipulate, payload };
}

/** A DEBUG_IO PrintString payload: the 16-byte header then the text. */
function print(text: string): KdPacket {
  const bytes = new TextEncoder().encode(text);
  const payload = new Uint8Array(16 + bytes.length);
  const view = new DataView(payload.buffer);
  view.setUint32(0, 0x3230, true);
  view.setUint32(12, bytes.length, true);
  payload.set(bytes, 16);
  return { type: KdPacketType.DebugIo, payload };
}

function readU32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}

function fingerprint(packet: KdPacket): string {
  let sum = 0;
  for (const b of packet.payload) sum = (sum * 31 + b) >>> 0;
  return `${packet.type}:${packet.payload.length}:${sum.toString(16)}`;
}
