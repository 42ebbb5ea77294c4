import { Subject, type Observable, type Subscription } from 'rxjs';
import {
  describeKdPacket,
  packetTypeName,
  systemClock,
  VmkdError,
  type KdcomClock,
  type KdPacket,
  type LinkEvent,
  type LinkStats,
  type PacketLink,
} from '@vmkd/kd-protocol';
import { isDebuggerPresenceAware } from './debugger-presence.js';
import { DebuggerToGuest, GuestToDebugger, type Direction } from './direction.js';
import { errorRecord } from './error-record.js';
import { RouterErrorCode } from './errors.js';
import { createLatencyReservoir, type LatencySummary } from './latency-reservoir.js';
import type { RouteEffect } from './route-effect.js';
import type { PacketOrigin, RouteEvent } from './route-events.js';
import type { RouteInput } from './route-input.js';
import { reduceRoute } from './route-reducer.js';
import { heldDepth, initialRouteState, queueDepth, type DirectionState, type RouteCounters, type RouteState } from './route-state.js';
import type { TargetTracking } from './target-state.js';
import type { TraceRecordSink, TraceSinkStats } from './trace-sink.js';

export interface RouteOptions {
  /**
   * Packets held per direction, the one in flight included (default 8, at least 1). KD is one
   * request at a time, so only a DbgPrint flood or a misbehaving debugger ever fills it. When full,
   * the oldest waiting DbgPrint/trace packet makes room; otherwise the newcomer is dropped. Every
   * drop is counted and reported as a `dropped` event.
   */
  readonly queueBound?: number;
  /**
   * Guest→debugger packets held beyond `queueBound` while a debugger is attached (default 4096):
   * a real kernel waits in DbgPrint until the debugger has the text, so with a debugger attached
   * nothing is dropped until this hold is full too. Counted as `held` / `heldHighWater`.
   */
  readonly holdBound?: number;
  /** Trace records go here (the CLI's JSONL file writer, or any sink). The route closes it on close. */
  readonly trace?: TraceRecordSink;
  /** Add each packet's payload in hex (`bytes`) to its trace record (default false). */
  readonly traceBytes?: boolean;
  /** Close both links when the route closes (default true). */
  readonly closeLinks?: boolean;
  /** Newest latency samples kept per measurement for p50/p99 (default 1024). */
  readonly latencySamples?: number;
  /** When the guest comes back after vanishing, resync it (RESET) so a stopped target re-sends its state (default true). */
  readonly resyncGuestOnReturn?: boolean;
  /** Decoder for trace records (default: kd-protocol's `describeKdPacket`). */
  readonly describe?: (packet: KdPacket) => unknown;
  /** Time for latencies, notice windows and record stamps (default: the system clock). */
  readonly clock?: KdcomClock;
  /** Wall-clock milliseconds at clock time 0, for record stamps (default: `performance.timeOrigin` with the system clock, else 0). */
  readonly clockEpochMs?: number;
  /** Repeated break-in / RESET notices within this window are summarised in one record (default 1000 ms). */
  readonly noticeWindowMs?: number;
  /** Debuggers the endpoint turned away (its `refused` notices), recorded with who holds the endpoint. */
  readonly refused$?: Observable<{ readonly peer: string }>;
}

export interface DirectionStats {
  /** Packets that entered this direction (forwarded, replayed or synthetic). */
  received: number;
  /** Packets the far link accepted, and their payload bytes. */
  packets: number;
  bytes: number;
  /** Packets refused or evicted because the queue (and the hold) was full. */
  dropped: number;
  /** Packets the far link rejected (timeout, disconnect, close). */
  failed: number;
  /** Packets held now (waiting + in flight) within the bound, the most ever held, and the bound. */
  queueDepth: number;
  queueHighWater: number;
  readonly queueBound: number;
  /** Packets accepted beyond the bound because a debugger was attached; held now; the most at once; the hold's bound. */
  held: number;
  heldNow: number;
  heldHighWater: number;
  readonly holdBound: number;
  /** Time from receipt on one link until the far link accepted the packet. */
  latencyMs: LatencySummary;
}

export interface RouteStats extends RouteCounters {
  readonly guest: LinkStats | undefined;
  readonly endpoint: LinkStats | undefined;
  readonly directions: Readonly<Record<Direction, DirectionStats>>;
  /** Resends and resyncs summed over both links. */
  readonly resends: number;
  readonly resyncs: number;
  /** Manipulate request received from the debugger → its reply received from the target. */
  readonly requestLatencyMs: LatencySummary;
  readonly target: TargetTracking['state'];
  readonly targetPresent: boolean;
  readonly debuggerAttached: boolean;
  readonly trace: TraceSinkStats | undefined;
}

export interface Route {
  /** Live records of everything that crosses or happens (hot; completes when the route closes). */
  readonly events$: Observable<RouteEvent>;
  stats(): RouteStats;
  /** What the router believes about the target right now. */
  readonly target: TargetTracking;
  /** Settles when the route has closed (close(), or the endpoint link ended). Never rejects. */
  readonly done: Promise<void>;
  /** Tear down, close the trace sink, close the links (unless `closeLinks: false`). Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_HOLD_BOUND = 4096;

/**
 * Join a target-facing link (`guest`) and a debugger-facing link (`endpoint`): packets both ways,
 * break-in ahead of everything, one state change per stop for each debugger, a synthetic "target
 * gone" when the guest vanishes, taps and statistics.
 *
 * The decisions are `reduceRoute`'s (a pure reducer over the route's whole state); this shell feeds
 * it the links' events and performs the effects it returns, one input at a time, in order.
 * Subscribes to both links synchronously, as the PacketLink contract asks.
 */
export function route(guest: PacketLink, endpoint: PacketLink, options: RouteOptions = {}): Route {
  const queueBound = options.queueBound ?? 8;
  const holdBound = options.holdBound ?? DEFAULT_HOLD_BOUND;
  for (const [name, value, min] of [
    ['queueBound', queueBound, 1],
    ['holdBound', holdBound, 0],
  ] as const) {
    if (!Number.isInteger(value) || value < min) {
      throw new VmkdError(RouterErrorCode.BadOption, `${name} must be an integer ≥ ${min}, got ${String(value)}`, { details: { [name]: value } });
    }
  }
  const describe = options.describe ?? ((packet: KdPacket): unknown => describeKdPacket(packet));
  const closeLinks = options.closeLinks ?? true;
  const clock = options.clock ?? systemClock;
  const epochMs = options.clockEpochMs ?? (options.clock === undefined ? performance.timeOrigin : 0);
  const samples = options.latencySamples ?? 1024;
  const trace = options.trace;
  const traceBytes = options.traceBytes === true;
  const latency = {
    [GuestToDebugger]: createLatencyReservoir(samples),
    [DebuggerToGuest]: createLatencyReservoir(samples),
    request: createLatencyReservoir(samples),
  };

  const events$ = new Subject<RouteEvent>();
  const subscriptions: Subscription[] = [];
  let state: RouteState = initialRouteState(
    { queueBound, holdBound, resyncGuestOnReturn: options.resyncGuestOnReturn ?? true, noticeWindowMs: options.noticeWindowMs ?? 1000 },
    // A guest not there yet (a KDRPC guest before its first poll) is absent until its `connect`:
    // a debugger's break-in waits for it rather than being answered "target gone".
    { debuggerAttached: endpoint.connected, guestPresent: guest.connected },
  );
  let closing: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const timers = new Set<unknown>();

  // One input at a time, in arrival order: an effect that makes a link emit synchronously queues
  // its input behind the current one instead of re-entering the reducer.
  const inbox: RouteInput[] = [];
  let draining = false;
  const dispatch = (input: RouteInput): void => {
    inbox.push(input);
    if (draining) return;
    draining = true;
    try {
      for (let next = inbox.shift(); next !== undefined; next = inbox.shift()) {
        const step = reduceRoute(state, next);
        state = step.state;
        for (const effect of step.effects) perform(effect, next.at);
      }
    } finally {
      draining = false;
    }
  };

  const emit = (record: object, at: number): void => {
    const stamped = { t: epochMs + at, ...record } as RouteEvent;
    trace?.write(stamped);
    events$.next(stamped);
  };

  const packetRecord = (dir: Direction, origin: PacketOrigin, packet: KdPacket, at: number): void => {
    // Decoding every packet is the costliest thing the router does; skip it when nobody listens.
    if (trace === undefined && !events$.observed) return;
    let decoded: unknown;
    try {
      decoded = describe(packet);
    } catch (error) {
      decoded = { undecodable: errorRecord(error) };
    }
    emit(
      {
        kind: 'packet',
        dir,
        origin,
        type: packet.type,
        typeName: packetTypeName(packet.type),
        length: packet.payload.byteLength,
        decoded,
        ...(traceBytes ? { bytes: Buffer.from(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength).toString('hex') } : {}),
      },
      at,
    );
  };

  const perform = (effect: RouteEffect, at: number): void => {
    switch (effect.kind) {
      case 'send': {
        const link = effect.dir === GuestToDebugger ? endpoint : guest;
        const { dir, seq } = effect;
        link.send(effect.packet).then(
          () => dispatch({ kind: 'sent', dir, seq, at: clock.now() }),
          (error: unknown) => dispatch({ kind: 'send-failed', dir, seq, error: errorRecord(error), at: clock.now() }),
        );
        return;
      }
      case 'guest-breakin':
        guest.breakIn().catch((error: unknown) => dispatch({ kind: 'guest-op-failed', operation: 'breakIn', error: errorRecord(error), at: clock.now() }));
        return;
      case 'guest-resync':
        guest.resync().then(
          () => dispatch({ kind: 'resync-done', at: clock.now() }),
          (error: unknown) => dispatch({ kind: 'guest-op-failed', operation: 'resync', error: errorRecord(error), at: clock.now() }),
        );
        return;
      case 'debugger-present':
        if (isDebuggerPresenceAware(guest)) {
          try {
            guest.setDebuggerPresent(effect.present);
          } catch {
            // A presence hint that cannot be delivered changes nothing on the wire.
          }
        }
        return;
      case 'packet-record':
        packetRecord(effect.dir, effect.origin, effect.packet, at);
        return;
      case 'record':
        emit(effect.record, at);
        return;
      case 'latency':
        latency[effect.measure].record(effect.ms);
        return;
      case 'timer': {
        const handle = clock.setTimeout(() => {
          timers.delete(handle);
          dispatch({ kind: 'timer', at: clock.now() });
        }, Math.max(0, effect.at - clock.now()));
        timers.add(handle);
        return;
      }
      case 'close':
        void close();
        return;
    }
  };

  const linkInput = (side: 'guest' | 'endpoint', event: Exclude<LinkEvent, { kind: 'packet' }>): RouteInput => {
    const at = clock.now();
    if (event.kind === 'connect') return { kind: 'link', side, event: 'connect', at, ...(event.peer === undefined ? {} : { peer: event.peer }) };
    if (event.kind === 'disconnect') return { kind: 'link', side, event: 'disconnect', at, ...(event.error === undefined ? {} : { error: errorRecord(event.error) }) };
    return { kind: 'link', side, event: event.kind, at };
  };

  for (const [side, link] of [
    ['guest', guest],
    ['endpoint', endpoint],
  ] as const) {
    subscriptions.push(
      link.events$.subscribe({
        next: (event) => dispatch(event.kind === 'packet' ? { kind: 'packet', side, packet: event.packet, at: clock.now() } : linkInput(side, event)),
        // A guest link that ends for good is a guest that is gone (the debugger is still served);
        // an endpoint that ends closes the route.
        complete: () => dispatch({ kind: 'ended', side, at: clock.now() }),
        error: () => dispatch({ kind: 'ended', side, at: clock.now() }),
      }),
    );
  }
  if (options.refused$ !== undefined) subscriptions.push(options.refused$.subscribe(({ peer }) => dispatch({ kind: 'refused', peer, at: clock.now() })));
  // Tell a presence-aware guest how things stand from the start.
  if (isDebuggerPresenceAware(guest)) perform({ kind: 'debugger-present', present: state.debugger.attached }, clock.now());

  const directionStats = (direction: DirectionState, dir: Direction): DirectionStats => ({
    received: direction.counters.received,
    packets: direction.counters.packets,
    bytes: direction.counters.bytes,
    dropped: direction.counters.dropped,
    failed: direction.counters.failed,
    queueDepth: queueDepth(direction),
    queueHighWater: direction.counters.queueHighWater,
    queueBound,
    held: direction.counters.held,
    heldNow: heldDepth(direction),
    heldHighWater: direction.counters.heldHighWater,
    holdBound: dir === GuestToDebugger ? holdBound : 0,
    latencyMs: latency[dir].summary(),
  });

  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
      for (const handle of timers) clock.clearTimeout(handle);
      timers.clear();
      state = { ...state, closed: true };
      emit({ kind: 'route-closed' }, clock.now());
      events$.complete();
      await trace?.close?.().catch(() => undefined);
      if (closeLinks) await Promise.allSettled([guest.close(), endpoint.close()]);
      resolveDone();
    })();
    return closing;
  };

  return {
    events$: events$.asObservable(),
    get target() {
      return state.target;
    },
    stats(): RouteStats {
      const guestStats = safeStats(guest);
      const endpointStats = safeStats(endpoint);
      return {
        guest: guestStats,
        endpoint: endpointStats,
        directions: {
          [GuestToDebugger]: directionStats(state.toDebugger, GuestToDebugger),
          [DebuggerToGuest]: directionStats(state.toGuest, DebuggerToGuest),
        } as Record<Direction, DirectionStats>,
        resends: (guestStats?.resends ?? 0) + (endpointStats?.resends ?? 0),
        resyncs: (guestStats?.resyncs ?? 0) + (endpointStats?.resyncs ?? 0),
        requestLatencyMs: latency.request.summary(),
        ...state.counters,
        target: state.target.state,
        targetPresent: state.target.present,
        debuggerAttached: state.debugger.attached,
        trace: trace?.stats?.(),
      };
    },
    done,
    close,
  };
}

function safeStats(link: PacketLink): LinkStats | undefined {
  try {
    return link.stats();
  } catch {
    return undefined;
  }
}
