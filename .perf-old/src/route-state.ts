import type { KdPacket } from '@vmkd/kd-protocol';
import type { PacketOrigin } from './route-events.js';
import { initialTracking, type TargetTracking } from './target-state.js';
import { initialNotices, type NoticeWindows } from './notice-limiter.js';

/** One packet held by a route direction, from receipt until the far link accepted it. */
export interface QueueItem {
  /** Route-wide sequence number: matches a `sent`/`send-failed` input to its `send` effect. */
  readonly seq: number;
  readonly packet: KdPacket;
  readonly origin: PacketOrigin;
  /** Clock time of receipt, for latencies. */
  readonly receivedAt: number;
  /** Accepted beyond the queue bound because a debugger is attached and nothing may be lost. */
  readonly held: boolean;
}

export interface DirectionCounters {
  /** Packets that entered this direction (forwarded, replayed or synthetic). */
  readonly received: number;
  /** Packets the far link accepted, and their payload bytes. */
  readonly packets: number;
  readonly bytes: number;
  /** Packets refused or evicted because the queue (and the hold, if any) was full. */
  readonly dropped: number;
  /** Packets the far link rejected (timeout, disconnect, close). */
  readonly failed: number;
  /** Packets accepted beyond the queue bound while a debugger was attached (issue 10 item 5). */
  readonly held: number;
  /** The most held at once; never above `holdBound`. */
  readonly heldHighWater: number;
  /** Packets in the queue now (waiting + in flight, held ones not counted), and the most ever. */
  readonly queueHighWater: number;
}

export interface DirectionState {
  readonly waiting: readonly QueueItem[];
  readonly inFlight: QueueItem | undefined;
  readonly counters: DirectionCounters;
}

export interface DebuggerState {
  /** A debugger is connected to the endpoint. */
  readonly attached: boolean;
  readonly peer: string | undefined;
  /** Clock time of its connect (for "held since" in refusals). */
  readonly since: number | undefined;
  /**
   * This debugger connection has been given the current stop (a state change is queued, in
   * flight or delivered). The one-state-change-per-stop rule (issue 10 item 1) hangs on it.
   */
  readonly hasStop: boolean;
}

export interface RouteCounters {
  readonly breakins: number;
  /** Break-ins not forwarded because the target was already stopped (the debugger got the stop instead). */
  readonly breakinsAbsorbed: number;
  /** Cached state changes given to debuggers (RESET, or a break-in while stopped). */
  readonly replays: number;
  /** The guest's re-sends of a stop the debugger already has, not forwarded. */
  readonly duplicateStops: number;
  readonly syntheticStateChanges: number;
  readonly failedRequests: number;
  readonly targetGone: number;
  readonly debuggerConnects: number;
  /** Second debuggers turned away while one was attached. */
  readonly refusals: number;
  /** Break-ins held for a guest that was not there yet, then delivered when it connected. */
  readonly breakinsHeldForGuest: number;
}

export interface RouteConfig {
  /** Packets per direction, the one in flight included (≥ 1). */
  readonly queueBound: number;
  /** Guest→debugger packets held beyond `queueBound` while a debugger is attached (≥ 0). */
  readonly holdBound: number;
  readonly resyncGuestOnReturn: boolean;
  /** Repeated notices within this window are summarised (ms). */
  readonly noticeWindowMs: number;
}

/** The route's whole state: one value, replaced by the reducer on every input. */
export interface RouteState {
  readonly config: RouteConfig;
  readonly target: TargetTracking;
  /** The last state change the guest itself sent (the synthetic "gone" copies its CPU fields). */
  readonly lastRealStateChange: KdPacket | undefined;
  readonly debugger: DebuggerState;
  readonly toDebugger: DirectionState;
  readonly toGuest: DirectionState;
  /** A request the target has accepted and not yet answered. */
  readonly awaitingReply: QueueItem | undefined;
  /** The reply to the request in flight toward the guest came before its send settled. */
  readonly inFlightReplied: boolean;
  /**
   * A break-in that came while the debugger's Continue was still on its way to the guest: it is
   * sent once that Continue has gone, never ahead of it (the target would take it while still
   * stopped, then resume and run on).
   */
  readonly breakinAfterResume: boolean;
  /**
   * A break-in that came while no guest was there and nothing was known of it (a KDRPC guest that
   * has not polled yet, a VM whose serial socket is not up): delivered when the guest connects,
   * so a debugger that attaches first still gets the stop it asked for, not "target gone".
   */
  readonly breakinForGuest: boolean;
  /** guest.resync() calls not yet settled (one at a time for a debugger's RESET burst). */
  readonly guestResyncs: number;
  readonly nextSeq: number;
  readonly counters: RouteCounters;
  readonly notices: NoticeWindows;
  readonly closed: boolean;
}

const emptyCounters: DirectionCounters = { received: 0, packets: 0, bytes: 0, dropped: 0, failed: 0, held: 0, heldHighWater: 0, queueHighWater: 0 };
const emptyDirection: DirectionState = { waiting: [], inFlight: undefined, counters: emptyCounters };

export interface InitialRouteOptions {
  /** A debugger is on the endpoint already (its `connected`). Default false. */
  readonly debuggerAttached?: boolean;
  /**
   * The guest is there already (its link's `connected`). Default true. A guest that is not (a
   * KDRPC guest before its first poll) counts as present from its link's `connect` event on.
   */
  readonly guestPresent?: boolean;
}

export function initialRouteState(config: RouteConfig, options: InitialRouteOptions = {}): RouteState {
  return {
    config,
    target: { ...initialTracking, present: options.guestPresent ?? true },
    lastRealStateChange: undefined,
    debugger: { attached: options.debuggerAttached ?? false, peer: undefined, since: undefined, hasStop: false },
    toDebugger: emptyDirection,
    toGuest: emptyDirection,
    awaitingReply: undefined,
    inFlightReplied: false,
    breakinAfterResume: false,
    breakinForGuest: false,
    guestResyncs: 0,
    nextSeq: 1,
    counters: {
      breakins: 0,
      breakinsAbsorbed: 0,
      replays: 0,
      duplicateStops: 0,
      syntheticStateChanges: 0,
      failedRequests: 0,
      targetGone: 0,
      debuggerConnects: 0,
      refusals: 0,
      breakinsHeldForGuest: 0,
    },
    notices: initialNotices,
    closed: false,
  };
}

/** Packets in the bounded queue (waiting + in flight), held ones not counted. */
export function queueDepth(direction: DirectionState): number {
  let depth = direction.inFlight !== undefined && !direction.inFlight.held ? 1 : 0;
  for (const item of direction.waiting) if (!item.held) depth += 1;
  return depth;
}

/** Packets held beyond the bound (waiting or in flight). */
export function heldDepth(direction: DirectionState): number {
  let depth = direction.inFlight?.held === true ? 1 : 0;
  for (const item of direction.waiting) if (item.held) depth += 1;
  return depth;
}
