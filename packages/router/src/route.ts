import { Subject, defer, race, throwError, mergeMap, type Observable, type Subscription } from 'rxjs';
import { describeKdPacket, isVmkdError, KdPacketType, packetTypeName, VmkdError, type KdPacket, type LinkEvent, type LinkStats, type PacketLink } from '@vmkd/kd-protocol';
import type { DropReason } from './bounded-concat-map.js';
import { DebuggerToGuest, GuestToDebugger, type Direction } from './direction.js';
import { RouterErrorCode } from './errors.js';
import { errorRecord } from './error-record.js';
import { expectsReply, isDroppable, isStateChange } from './kd-peek.js';
import { createLatencyReservoir, type LatencyReservoir, type LatencySummary } from './latency-reservoir.js';
import { pumpPackets$, withBreakinPriority$, type PumpOutcome } from './pump.js';
import type { PacketOrigin, RouteEvent, RouteSide } from './route-events.js';
import { createFailedReply, createTargetGoneStateChange, TARGET_GONE_STATUS } from './synthetic-packets.js';
import { initialTracking, trackTarget, type TargetTracking, type TrackingInput } from './target-state.js';
import { createTraceWriter, type TraceSink, type TraceWriter, type TraceWriterStats } from './trace-writer.js';

/** NTSTATUS for a request whose forward to the target failed for another reason (link timeout). */
const STATUS_IO_TIMEOUT = 0xc00000b5;

export interface RouteOptions {
  /**
   * Packets held per direction, the one in flight included (default 8, at least 1). KD is one
   * request at a time, so only a DbgPrint flood or a misbehaving debugger ever fills it. When full,
   * the oldest waiting DbgPrint/trace packet makes room; otherwise the newcomer is dropped. Every
   * drop is counted and reported as a `dropped` event.
   */
  readonly queueBound?: number;
  /** Write a JSONL trace of every event to this file (or sink). */
  readonly trace?: string | TraceSink;
  /** Memory bound of the trace buffer (default 1 MiB); records beyond it are dropped and counted. */
  readonly traceMaxBufferedBytes?: number;
  /** Close both links when the route closes (default true). */
  readonly closeLinks?: boolean;
  /** Newest latency samples kept per measurement for p50/p99 (default 1024). */
  readonly latencySamples?: number;
  /** When the guest comes back after vanishing, resync it (RESET) so a stopped target re-sends its state (default true). */
  readonly resyncGuestOnReturn?: boolean;
  /** Decoder for trace records (default: kd-protocol's `describeKdPacket`). */
  readonly describe?: (packet: KdPacket) => unknown;
}

export interface DirectionStats {
  /** Packets that entered this direction (forwarded, replayed or synthetic). */
  received: number;
  /** Packets the far link accepted, and their payload bytes. */
  packets: number;
  bytes: number;
  /** Packets refused or evicted because the queue was full. */
  dropped: number;
  /** Packets the far link rejected (timeout, disconnect, close). */
  failed: number;
  /** Packets held now (waiting + in flight), the most ever held, and the bound. */
  queueDepth: number;
  queueHighWater: number;
  readonly queueBound: number;
  /** Time from receipt on one link until the far link accepted the packet. */
  latencyMs: LatencySummary;
}

export interface RouteStats {
  readonly guest: LinkStats | undefined;
  readonly endpoint: LinkStats | undefined;
  readonly directions: Readonly<Record<Direction, DirectionStats>>;
  /** Resends and resyncs summed over both links. */
  readonly resends: number;
  readonly resyncs: number;
  /** Manipulate request received from the debugger → its reply received from the target. */
  readonly requestLatencyMs: LatencySummary;
  readonly breakins: number;
  /** Cached state changes given to (re)connecting debuggers. */
  readonly replays: number;
  readonly syntheticStateChanges: number;
  readonly failedRequests: number;
  readonly targetGone: number;
  readonly debuggerConnects: number;
  readonly target: TargetTracking['state'];
  readonly targetPresent: boolean;
  readonly trace: TraceWriterStats | undefined;
}

export interface Route {
  /** Live records of everything that crosses or happens (hot; completes when the route closes). */
  readonly events$: Observable<RouteEvent>;
  stats(): RouteStats;
  /** What the router believes about the target right now. */
  readonly target: TargetTracking;
  /** Settles when the route has closed (close(), or the endpoint link ended). Never rejects. */
  readonly done: Promise<void>;
  /** Tear down, flush the trace, close the links (unless `closeLinks: false`). Idempotent. */
  close(): Promise<void>;
}

interface Outbound {
  readonly packet: KdPacket;
  readonly origin: PacketOrigin;
  /** performance.now() at receipt, for latencies. */
  readonly receivedAt: number;
  /** Set when the target's reply arrived (possibly before its send settled). */
  replied?: boolean;
}

interface Direction$ {
  readonly in$: Subject<Outbound>;
  readonly stats: Omit<DirectionStats, 'latencyMs'>;
  readonly latency: LatencyReservoir;
}

/**
 * Join a target-facing link (`guest`) and a debugger-facing link (`endpoint`): packets both ways,
 * break-in ahead of everything, the last state change replayed to every (re)connecting debugger,
 * a synthetic "target gone" when the guest vanishes, taps and statistics.
 *
 * Subscribes to both links synchronously, as the PacketLink contract asks.
 */
export function route(guest: PacketLink, endpoint: PacketLink, options: RouteOptions = {}): Route {
  const queueBound = options.queueBound ?? 8;
  if (!Number.isInteger(queueBound) || queueBound < 1) {
    throw new VmkdError(RouterErrorCode.BadOption, `queueBound must be a positive integer, got ${String(queueBound)}`, {
      details: { queueBound },
    });
  }
  const describe = options.describe ?? ((packet: KdPacket): unknown => describeKdPacket(packet));
  const closeLinks = options.closeLinks ?? true;
  const resyncGuestOnReturn = options.resyncGuestOnReturn ?? true;
  const samples = options.latencySamples ?? 1024;
  const trace: TraceWriter | undefined =
    options.trace === undefined ? undefined : createTraceWriter(options.trace, { maxBufferedBytes: options.traceMaxBufferedBytes });

  const events$ = new Subject<RouteEvent>();
  const subscriptions: Subscription[] = [];
  const gone$ = new Subject<void>();
  const breakins$ = new Subject<void>();
  const makeDirection = (): Direction$ => ({
    in$: new Subject<Outbound>(),
    stats: { received: 0, packets: 0, bytes: 0, dropped: 0, failed: 0, queueDepth: 0, queueHighWater: 0, queueBound },
    latency: createLatencyReservoir(samples),
  });
  const g2d = makeDirection();
  const d2g = makeDirection();
  const requestLatency = createLatencyReservoir(samples);
  const counters = { breakins: 0, replays: 0, syntheticStateChanges: 0, failedRequests: 0, targetGone: 0, debuggerConnects: 0 };

  let tracking = initialTracking;
  /** State changes queued or in flight toward the debugger; a replay is pointless while one is. */
  let stateChangesOutstanding = 0;
  /** A request the target has accepted and not yet answered. */
  let awaitingReply: Outbound | undefined;
  let d2gInFlight: Outbound | undefined;
  let closing: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const now = (): number => performance.now();
  const apply = (input: TrackingInput): void => {
    tracking = trackTarget(tracking, input);
  };
  const emit = (event: DistributiveOmit<RouteEvent, 't'>): void => {
    const record = { t: performance.timeOrigin + performance.now(), ...event } as RouteEvent;
    trace?.write(record);
    events$.next(record);
  };
  const packetRecord = (dir: Direction, packet: KdPacket, origin: PacketOrigin): void => {
    // Decoding every packet is the costliest thing the router does; skip it when nobody listens.
    if (trace === undefined && !events$.observed) return;
    let decoded: unknown;
    try {
      decoded = describe(packet);
    } catch (error) {
      decoded = { undecodable: errorRecord(error) };
    }
    emit({ kind: 'packet', dir, origin, type: packet.type, typeName: packetTypeName(packet.type), length: packet.payload.byteLength, decoded });
  };

  // ---- guest → debugger -------------------------------------------------------------------------

  const toDebugger = (packet: KdPacket, origin: PacketOrigin): void => {
    if (isStateChange(packet)) {
      stateChangesOutstanding += 1;
      apply({ dir: GuestToDebugger, packet });
    }
    if (origin !== 'forwarded') packetRecord(GuestToDebugger, packet, origin);
    g2d.stats.received += 1;
    g2d.in$.next({ packet, origin, receivedAt: now() });
  };

  const onDepth = (direction: Direction$) => (depth: number) => {
    direction.stats.queueDepth = depth;
    direction.stats.queueHighWater = Math.max(direction.stats.queueHighWater, depth);
  };
  const onDrop = (dir: Direction, direction: Direction$) => (item: Outbound, reason: DropReason) => {
    direction.stats.dropped += 1;
    if (dir === GuestToDebugger && isStateChange(item.packet)) stateChangesOutstanding -= 1;
    if (dir === DebuggerToGuest && expectsReply(item.packet)) failRequest(item, STATUS_IO_TIMEOUT);
    emit({ kind: 'dropped', dir, reason, type: item.packet.type, typeName: packetTypeName(item.packet.type) });
  };

  const settle = (dir: Direction, direction: Direction$, outcome: PumpOutcome<Outbound>): void => {
    if (outcome.kind !== 'sent' && outcome.kind !== 'failed') return;
    const { item } = outcome;
    if (outcome.kind === 'sent') {
      direction.stats.packets += 1;
      direction.stats.bytes += item.packet.payload.byteLength;
      direction.latency.record(now() - item.receivedAt);
    } else {
      direction.stats.failed += 1;
      emit({ kind: 'send-failed', dir, type: item.packet.type, typeName: packetTypeName(item.packet.type), error: errorRecord(outcome.error) });
    }
    if (dir === GuestToDebugger && isStateChange(item.packet)) stateChangesOutstanding -= 1;
    if (dir === DebuggerToGuest) {
      d2gInFlight = undefined;
      if (outcome.kind === 'sent' && expectsReply(item.packet) && item.replied !== true) awaitingReply = item;
      if (outcome.kind === 'failed' && expectsReply(item.packet) && item.replied !== true) {
        failRequest(item, isVmkdError(outcome.error, RouterErrorCode.TargetGone) ? TARGET_GONE_STATUS : STATUS_IO_TIMEOUT);
      }
    }
  };

  /** Answer a request the target will never answer, so the debugger's call fails instead of hanging. */
  const failRequest = (item: Outbound, status: number): void => {
    counters.failedRequests += 1;
    toDebugger(createFailedReply(item.packet, status), 'synthetic');
  };

  subscriptions.push(
    pumpPackets$(g2d.in$, (item) => endpoint.send(item.packet), {
      capacity: queueBound - 1,
      isDroppable: (item) => isDroppable(item.packet),
      onDrop: onDrop(GuestToDebugger, g2d),
      onDepth: onDepth(g2d),
    }).subscribe((outcome) => settle(GuestToDebugger, g2d, outcome)),
  );

  // ---- debugger → guest -------------------------------------------------------------------------

  const sendToGuest = (item: Outbound): Observable<void> =>
    defer(() => {
      if (!tracking.present) return throwError(() => targetGoneError());
      d2gInFlight = item;
      // A vanished guest may leave this send pending until the link's own timeout; the route stops
      // waiting at once, so the debugger's request fails promptly.
      return race(defer(() => guest.send(item.packet)), gone$.pipe(mergeMap(() => throwError(() => targetGoneError()))));
    });

  subscriptions.push(
    withBreakinPriority$(
      pumpPackets$(d2g.in$, sendToGuest, {
        capacity: queueBound - 1,
        isDroppable: (item) => isDroppable(item.packet),
        onDrop: onDrop(DebuggerToGuest, d2g),
        onDepth: onDepth(d2g),
      }),
      breakins$,
      () => guest.breakIn(),
    ).subscribe((outcome) => {
      if (outcome.kind === 'breakin-failed') emit({ kind: 'guest-error', operation: 'breakIn', error: errorRecord(outcome.error) });
      else settle(DebuggerToGuest, d2g, outcome);
    }),
  );

  // ---- reconnects and the target's disappearance ------------------------------------------------

  /**
   * What a stopped KD target does on a debugger's RESET (spec §1.6, §1.9): send its state change
   * again. The router does it from the cache, so the target never sees the RESET. A state change
   * already queued or in flight toward the debugger answers a burst of RESETs (WinDbg sends several
   * while it synchronises): the endpoint link retransmits it after each one.
   */
  const maybeReplay = (): void => {
    const last = tracking.lastStateChange;
    if (tracking.state !== 'stopped' || last === undefined || stateChangesOutstanding > 0) return;
    counters.replays += 1;
    toDebugger(last, 'replayed');
  };

  /**
   * A debugger's RESET while the router knows nothing of the target (it started after the target
   * had stopped, e.g. while an endpoint was being bound, or the guest just came back): there is no
   * cache to answer from, so pass the RESET on, as a direct connection would. A stopped target
   * answers with its state change (no break-in needed); a running one ignores it and the
   * debugger's own break-in follows. One resync at a time: WinDbg sends RESETs in bursts.
   */
  const resyncGuestForDebugger = (): void => {
    if (tracking.state !== 'unknown' || !tracking.present || guestResyncs > 0) return;
    resyncGuest();
  };
  let guestResyncs = 0;
  const resyncGuest = (): void => {
    guestResyncs += 1;
    guest
      .resync()
      .catch((error: unknown) => emit({ kind: 'guest-error', operation: 'resync', error: errorRecord(error) }))
      .finally(() => (guestResyncs -= 1));
  };

  const sendTargetGone = (): void => {
    counters.syntheticStateChanges += 1;
    toDebugger(createTargetGoneStateChange(lastRealStateChange), 'synthetic');
  };
  let lastRealStateChange: KdPacket | undefined;

  const guestGone = (): void => {
    if (!tracking.present) return;
    const failedRequest = d2gInFlight !== undefined || awaitingReply !== undefined;
    apply({ guest: 'gone' });
    counters.targetGone += 1;
    emit({ kind: 'target-gone', failedRequest });
    gone$.next(); // fails the in-flight forward, whose settle() answers the debugger
    if (awaitingReply !== undefined) {
      const orphan = awaitingReply;
      awaitingReply = undefined;
      failRequest(orphan, TARGET_GONE_STATUS);
    }
    sendTargetGone();
  };

  const guestBack = (): void => {
    if (tracking.present) return;
    apply({ guest: 'back' });
    emit({ kind: 'target-back' });
    if (resyncGuestOnReturn) resyncGuest();
  };

  const linkRecord = (side: RouteSide, event: Exclude<LinkEvent, { kind: 'packet' }>): void => {
    if (event.kind === 'connect') emit({ kind: 'link', side, event: 'connect', ...(event.peer === undefined ? {} : { peer: event.peer }) });
    else if (event.kind === 'disconnect') emit({ kind: 'link', side, event: 'disconnect', ...(event.error === undefined ? {} : { error: errorRecord(event.error) }) });
    else emit({ kind: 'link', side, event: event.kind });
  };

  subscriptions.push(
    guest.events$.subscribe({
      next: (event) => {
        if (event.kind !== 'packet') {
          linkRecord('guest', event);
          if (event.kind === 'disconnect') guestGone();
          else if (event.kind === 'connect') guestBack();
          return;
        }
        const { packet } = event;
        packetRecord(GuestToDebugger, packet, 'forwarded');
        if (packet.type === KdPacketType.StateManipulate) {
          const request = awaitingReply ?? d2gInFlight;
          if (request !== undefined && request.replied !== true) {
            request.replied = true;
            requestLatency.record(now() - request.receivedAt);
          }
          awaitingReply = undefined;
        }
        if (isStateChange(packet)) {
          lastRealStateChange = packet;
          awaitingReply = undefined; // a new stop supersedes whatever was asked before
        }
        toDebugger(packet, 'forwarded');
      },
      // A guest link that ends for good is a guest that is gone; the debugger is still served.
      complete: () => guestGone(),
      error: () => guestGone(),
    }),
  );

  subscriptions.push(
    endpoint.events$.subscribe({
      next: (event) => {
        if (event.kind !== 'packet') {
          linkRecord('endpoint', event);
          switch (event.kind) {
            case 'breakin':
              counters.breakins += 1;
              if (tracking.present) breakins$.next();
              else if (tracking.state !== 'stopped') sendTargetGone(); // the debugger continued past "gone"
              break;
            case 'connect':
              counters.debuggerConnects += 1;
              maybeReplay();
              break;
            case 'reset':
              maybeReplay();
              resyncGuestForDebugger();
              break;
            case 'disconnect':
              break;
          }
          return;
        }
        const { packet } = event;
        packetRecord(DebuggerToGuest, packet, 'forwarded');
        apply({ dir: DebuggerToGuest, packet });
        const item: Outbound = { packet, origin: 'forwarded', receivedAt: now() };
        d2g.stats.received += 1;
        if (!tracking.present) {
          // Termination emulation (VirtualKD's idea): answer requests with a failure, accept continues.
          if (expectsReply(packet)) failRequest(item, TARGET_GONE_STATUS);
          return;
        }
        d2g.in$.next(item);
      },
      complete: () => void close(),
      error: () => void close(),
    }),
  );

  const directionStats = (direction: Direction$): DirectionStats => ({ ...direction.stats, latencyMs: direction.latency.summary() });

  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
      gone$.complete();
      breakins$.complete();
      emit({ kind: 'route-closed' });
      events$.complete();
      await trace?.close().catch(() => undefined);
      if (closeLinks) await Promise.allSettled([guest.close(), endpoint.close()]);
      resolveDone();
    })();
    return closing;
  };

  return {
    events$: events$.asObservable(),
    get target() {
      return tracking;
    },
    stats(): RouteStats {
      const guestStats = safeStats(guest);
      const endpointStats = safeStats(endpoint);
      return {
        guest: guestStats,
        endpoint: endpointStats,
        directions: { [GuestToDebugger]: directionStats(g2d), [DebuggerToGuest]: directionStats(d2g) } as Record<Direction, DirectionStats>,
        resends: (guestStats?.resends ?? 0) + (endpointStats?.resends ?? 0),
        resyncs: (guestStats?.resyncs ?? 0) + (endpointStats?.resyncs ?? 0),
        requestLatencyMs: requestLatency.summary(),
        ...counters,
        target: tracking.state,
        targetPresent: tracking.present,
        trace: trace?.stats(),
      };
    },
    done,
    close,
  };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function targetGoneError(): VmkdError {
  return new VmkdError(RouterErrorCode.TargetGone, 'target gone: the guest link disconnected', { disconnected: true });
}


function safeStats(link: PacketLink): LinkStats | undefined {
  try {
    return link.stats();
  } catch {
    return undefined;
  }
}
