import { KdPacketType, packetTypeName, type KdPacket } from '@vmkd/kd-protocol';
import { DebuggerToGuest, GuestToDebugger, type Direction } from './direction.js';
import { offer, startNext } from './direction-queue.js';
import { expectsReply, isDroppable, isStateChange, resumesTarget } from './kd-peek.js';
import { closeNoticeWindows, noteNotice, type NoticeKey } from './notice-limiter.js';
import type { RouteEffect, RouteRecord } from './route-effect.js';
import type { ErrorRecord, PacketOrigin, RouteSide } from './route-events.js';
import type { RouteInput } from './route-input.js';
import type { DirectionState, QueueItem, RouteState } from './route-state.js';
import { createFailedReply, createTargetGoneStateChange, TARGET_GONE_STATUS } from './synthetic-packets.js';
import { trackTarget } from './target-state.js';

/** NTSTATUS for a request whose forward to the target failed for another reason (link timeout). */
const STATUS_IO_TIMEOUT = 0xc00000b5;

export interface RouteStep {
  readonly state: RouteState;
  readonly effects: readonly RouteEffect[];
}

/**
 * The route as a pure reducer: one input in, the next state and the effects to perform out.
 * Everything the router decides is here; `route()` only feeds link events in and performs effects.
 *
 * The rule that shapes most of it (issue 10 item 1): a debugger sees exactly one state change per
 * stop. A stop is given to a debugger connection once (forwarded, or replayed from the cache when
 * it RESETs or breaks in); the guest's own re-sends of that stop (it re-sends on a break-in or a
 * RESET while stopped, spec §1.7 and §1.9) are not passed on.
 */
export function reduceRoute(state: RouteState, input: RouteInput): RouteStep {
  const step = new Step(state);
  if (!state.closed) step.handle(input);
  step.pump();
  return { state: step.state, effects: step.effects };
}

/**
 * The state with one direction replaced. Literal keys, not `{ ...state, [key]: d }`: a computed key
 * in a spread takes V8's generic path (about 1.7× slower in a micro-benchmark here), and this runs
 * several times per packet on every route's hot path.
 */
function withDirection(state: RouteState, key: 'toDebugger' | 'toGuest', direction: DirectionState): RouteState {
  return key === 'toDebugger' ? { ...state, toDebugger: direction } : { ...state, toGuest: direction };
}

/** Mutable only while one input is reduced; `reduceRoute` is pure from the outside. */
class Step {
  readonly effects: RouteEffect[] = [];
  constructor(public state: RouteState) {}

  handle(input: RouteInput): void {
    switch (input.kind) {
      case 'packet':
        if (input.side === 'guest') this.fromGuest(input.packet, input.at);
        else this.fromDebugger(input.packet, input.at);
        return;
      case 'link':
        this.linkEvent(input.side, input.event, input.at, input.peer, input.error);
        return;
      case 'ended':
        if (input.side === 'guest') this.guestGone(input.at);
        else {
          this.state = { ...this.state, closed: true };
          this.effects.push({ kind: 'close' });
        }
        return;
      case 'refused': {
        const { debugger: dbg } = this.state;
        this.count('refusals');
        this.record({
          kind: 'debugger-refused',
          peer: input.peer,
          ...(dbg.peer === undefined ? {} : { holder: dbg.peer }),
          ...(dbg.since === undefined ? {} : { heldMs: input.at - dbg.since }),
        });
        return;
      }
      case 'sent':
        this.settled(input.dir, input.seq, input.at);
        return;
      case 'send-failed':
        this.settled(input.dir, input.seq, input.at, input.error);
        return;
      case 'guest-op-failed':
        if (input.operation === 'resync') this.state = { ...this.state, guestResyncs: Math.max(0, this.state.guestResyncs - 1) };
        this.record({ kind: 'guest-error', operation: input.operation, error: input.error });
        return;
      case 'resync-done':
        this.state = { ...this.state, guestResyncs: Math.max(0, this.state.guestResyncs - 1) };
        return;
      case 'timer': {
        const { windows, summaries } = closeNoticeWindows(this.state.notices, input.at, this.state.config.noticeWindowMs);
        this.state = { ...this.state, notices: windows };
        for (const summary of summaries) this.summary(summary.key, summary.count, summary.ms);
        return;
      }
    }
  }

  // ---- packets ------------------------------------------------------------------------------

  private fromGuest(packet: KdPacket, at: number): void {
    this.effects.push({ kind: 'packet-record', dir: GuestToDebugger, origin: 'forwarded', packet });
    if (packet.type === KdPacketType.StateManipulate) this.replyArrived(at);
    if (isStateChange(packet)) {
      const { target, debugger: dbg } = this.state;
      // A stopped target re-sends its stop after a break-in, a RESET or a RESEND. The debugger has
      // it already: passing it on would be a second state change for one stop, which radare2 takes
      // for the reply to its next request (issue 10 item 1).
      if (target.state === 'stopped' && dbg.hasStop && samePayload(target.lastStateChange, packet)) {
        this.count('duplicateStops');
        this.record({ kind: 'suppressed', reason: 'duplicate-stop', dir: GuestToDebugger });
        // The target has gone back to the top of its stopped loop: a request it had not answered
        // is lost there, so ask again rather than leave the debugger waiting.
        const orphan = this.state.awaitingReply;
        if (orphan !== undefined) {
          this.state = { ...this.state, awaitingReply: undefined, toGuest: { ...this.state.toGuest, waiting: [orphan, ...this.state.toGuest.waiting] } };
        }
        return;
      }
      // A new stop supersedes whatever was asked before.
      this.state = { ...this.state, lastRealStateChange: packet, awaitingReply: undefined };
    }
    this.toDebugger(packet, 'forwarded', at);
  }

  private fromDebugger(packet: KdPacket, at: number): void {
    this.effects.push({ kind: 'packet-record', dir: DebuggerToGuest, origin: 'forwarded', packet });
    this.track(DebuggerToGuest, packet);
    if (resumesTarget(packet)) this.setDebugger({ hasStop: false });
    const item = this.item(packet, 'forwarded', at);
    if (!this.state.target.present) {
      // Termination emulation (VirtualKD's idea): answer requests with a failure, accept continues.
      this.state = { ...this.state, toGuest: { ...this.state.toGuest, counters: { ...this.state.toGuest.counters, received: this.state.toGuest.counters.received + 1 } } };
      if (expectsReply(packet)) this.failRequest(packet, TARGET_GONE_STATUS, at);
      return;
    }
    this.enqueue(DebuggerToGuest, item);
  }

  /** Queue a packet toward the debugger; a state change becomes the stop this debugger has. */
  private toDebugger(packet: KdPacket, origin: PacketOrigin, at: number): void {
    if (isStateChange(packet)) {
      this.track(GuestToDebugger, packet);
      this.setDebugger({ hasStop: true });
    }
    if (origin !== 'forwarded') this.effects.push({ kind: 'packet-record', dir: GuestToDebugger, origin, packet });
    this.enqueue(GuestToDebugger, this.item(packet, origin, at));
  }

  private enqueue(dir: Direction, item: QueueItem): void {
    const key = dir === GuestToDebugger ? 'toDebugger' : 'toGuest';
    const { config, debugger: dbg } = this.state;
    // Only the kernel's side is held: a real kernel blocks in DbgPrint until the debugger has the
    // text, so with a debugger attached nothing it sends may be dropped (issue 10 item 5). Without
    // one, DbgPrint is dropped as Windows drops it (quick-timeout packets, spec §1.8).
    const hold = dir === GuestToDebugger && dbg.attached ? config.holdBound : 0;
    const result = offer(this.state[key], item, { bound: config.queueBound, hold, isDroppable: (queued) => isDroppable(queued.packet) });
    this.state = withDirection(this.state, key, result.direction);
    if (result.dropped !== undefined) {
      const { item: lost, reason } = result.dropped;
      this.record({ kind: 'dropped', dir, reason, type: lost.packet.type, typeName: packetTypeName(lost.packet.type) });
      // Each refused request is answered with a failure at once, so no debugger waits for it for ever.
      if (dir === DebuggerToGuest && expectsReply(lost.packet)) this.failRequest(lost.packet, STATUS_IO_TIMEOUT, item.receivedAt);
    }
  }

  /** Start a send in each idle direction. Toward a vanished guest, queued packets fail instead. */
  pump(): void {
    if (this.state.closed) return;
    for (const dir of [GuestToDebugger, DebuggerToGuest] as const) {
      const key = dir === GuestToDebugger ? 'toDebugger' : 'toGuest';
      const { direction, started } = startNext(this.state[key]);
      if (started === undefined) continue;
      this.state = dir === DebuggerToGuest ? { ...this.state, toGuest: direction, inFlightReplied: false } : { ...this.state, toDebugger: direction };
      this.effects.push({ kind: 'send', dir, seq: started.seq, packet: started.packet });
    }
  }

  private settled(dir: Direction, seq: number, at: number, error?: ErrorRecord): void {
    const key = dir === GuestToDebugger ? 'toDebugger' : 'toGuest';
    const direction: DirectionState = this.state[key];
    const item = direction.inFlight;
    // A send the route already gave up on (the guest vanished while it was in flight).
    if (item === undefined || item.seq !== seq) return;
    const c = direction.counters;
    const counters = error === undefined ? { ...c, packets: c.packets + 1, bytes: c.bytes + item.packet.payload.byteLength } : { ...c, failed: c.failed + 1 };
    this.state = withDirection(this.state, key, { ...direction, inFlight: undefined, counters });
    if (error === undefined) this.effects.push({ kind: 'latency', measure: dir, ms: at - item.receivedAt });
    else this.record({ kind: 'send-failed', dir, type: item.packet.type, typeName: packetTypeName(item.packet.type), error });
    if (dir === DebuggerToGuest && this.state.breakinAfterResume && resumesTarget(item.packet) && !this.state.toGuest.waiting.some((queued) => resumesTarget(queued.packet))) {
      // The Continue has reached the target: now the break-in can stop it.
      this.state = { ...this.state, breakinAfterResume: false };
      this.effects.push({ kind: 'guest-breakin' });
    }
    if (dir !== DebuggerToGuest || !expectsReply(item.packet) || this.state.inFlightReplied) return;
    if (error === undefined) this.state = { ...this.state, awaitingReply: item };
    else this.failRequest(item.packet, error.code === 'ERR_ROUTER_TARGET_GONE' ? TARGET_GONE_STATUS : STATUS_IO_TIMEOUT, at);
  }

  private replyArrived(at: number): void {
    const { awaitingReply, toGuest, inFlightReplied } = this.state;
    if (awaitingReply !== undefined) {
      this.effects.push({ kind: 'latency', measure: 'request', ms: at - awaitingReply.receivedAt });
      this.state = { ...this.state, awaitingReply: undefined };
    } else if (toGuest.inFlight !== undefined && expectsReply(toGuest.inFlight.packet) && !inFlightReplied) {
      // The reply overtook the settling of its request's send.
      this.effects.push({ kind: 'latency', measure: 'request', ms: at - toGuest.inFlight.receivedAt });
      this.state = { ...this.state, inFlightReplied: true };
    }
  }

  /** Answer a request the target will never answer, so the debugger's call fails instead of hanging. */
  private failRequest(request: KdPacket, status: number, at: number): void {
    this.count('failedRequests');
    this.toDebugger(createFailedReply(request, status), 'synthetic', at);
  }

  // ---- link events ---------------------------------------------------------------------------

  private linkEvent(side: RouteSide, event: 'connect' | 'disconnect' | 'reset' | 'breakin', at: number, peer?: string, error?: ErrorRecord): void {
    if (event === 'breakin' || event === 'reset') this.notice(side, event, at);
    else this.record({ kind: 'link', side, event, ...(peer === undefined ? {} : { peer }), ...(error === undefined ? {} : { error }) });
    if (side === 'guest') {
      if (event === 'disconnect') this.guestGone(at);
      else if (event === 'connect') this.guestBack();
      return;
    }
    switch (event) {
      case 'connect':
        // No replay here: every debugger asks for the state (RESET, or break-in then RESET), and a
        // stop replayed unasked would be a second one when it does (issue 10 item 1).
        this.count('debuggerConnects');
        this.state = { ...this.state, debugger: { attached: true, peer, since: at, hasStop: false } };
        this.effects.push({ kind: 'debugger-present', present: true });
        return;
      case 'disconnect':
        // A held break-in was that debugger's; the next one asks for itself.
        this.state = { ...this.state, debugger: { attached: false, peer: undefined, since: undefined, hasStop: false }, breakinForGuest: false };
        this.effects.push({ kind: 'debugger-present', present: false });
        return;
      case 'breakin':
        this.debuggerBreakin(at);
        return;
      case 'reset':
        this.debuggerReset(at);
        return;
    }
  }

  private debuggerBreakin(at: number): void {
    this.count('breakins');
    const { target } = this.state;
    if (!target.present) {
      if (target.state === 'unknown') {
        // No guest yet and nothing known of it: the debugger came first (a KDRPC guest polls only
        // once its kernel is up). Hold the break-in for the guest's connect instead of answering
        // "gone" for a target that has not been there yet.
        if (!this.state.breakinForGuest) {
          this.state = { ...this.state, breakinForGuest: true };
          this.record({ kind: 'suppressed', reason: 'breakin-held-for-guest', dir: DebuggerToGuest });
        }
        return;
      }
      if (target.state !== 'stopped') this.sendTargetGone(at); // the debugger continued past "gone"
      return;
    }
    if (target.state === 'stopped') {
      // The target is stopped already: a break-in would only make it re-send its stop (spec §1.7).
      // Give this debugger the stop from the cache, once, instead of touching the target.
      this.count('breakinsAbsorbed');
      this.record({ kind: 'suppressed', reason: 'stopped-breakin', dir: DebuggerToGuest });
      this.replayIfNeeded(at);
      return;
    }
    const { toGuest } = this.state;
    if ((toGuest.inFlight !== undefined && resumesTarget(toGuest.inFlight.packet)) || toGuest.waiting.some((item) => resumesTarget(item.packet))) {
      this.state = { ...this.state, breakinAfterResume: true };
      return;
    }
    this.effects.push({ kind: 'guest-breakin' });
  }

  /**
   * What a stopped KD target does on a debugger's RESET (spec §1.6, §1.9): send its state change
   * again. The router does it from the cache, so the target never sees the RESET. A state change
   * already queued or in flight toward the debugger answers it: the endpoint link retransmits it
   * after its RESET reply. With no cache (the route started after the target stopped, or the guest
   * just came back), the RESET is passed on, one at a time.
   */
  private debuggerReset(at: number): void {
    const { target, guestResyncs } = this.state;
    if (target.state === 'stopped') {
      if (!stateChangeOutstanding(this.state.toDebugger)) {
        this.setDebugger({ hasStop: false });
        this.replayIfNeeded(at);
      }
      return;
    }
    if (target.state === 'unknown' && target.present && guestResyncs === 0) this.resyncGuest();
  }

  private replayIfNeeded(at: number): void {
    const { target, debugger: dbg } = this.state;
    const last = target.lastStateChange;
    if (target.state !== 'stopped' || last === undefined || dbg.hasStop || stateChangeOutstanding(this.state.toDebugger)) return;
    this.count('replays');
    this.toDebugger(last, 'replayed', at);
  }

  private resyncGuest(): void {
    this.state = { ...this.state, guestResyncs: this.state.guestResyncs + 1 };
    this.effects.push({ kind: 'guest-resync' });
  }

  private guestGone(at: number): void {
    const { target, toGuest, awaitingReply } = this.state;
    if (!target.present) return;
    const failedRequest = toGuest.inFlight !== undefined || awaitingReply !== undefined;
    this.state = { ...this.state, target: trackTarget(target, { guest: 'gone' }), debugger: { ...this.state.debugger, hasStop: false }, breakinAfterResume: false };
    this.count('targetGone');
    this.record({ kind: 'target-gone', failedRequest });
    // Everything on its way to the vanished guest fails now, each request with a reply the
    // debugger can act on; a send still pending on the link is ignored when it settles.
    const abandoned = [...(toGuest.inFlight === undefined ? [] : [toGuest.inFlight]), ...toGuest.waiting];
    this.state = {
      ...this.state,
      awaitingReply: undefined,
      toGuest: { waiting: [], inFlight: undefined, counters: { ...toGuest.counters, failed: toGuest.counters.failed + abandoned.length } },
    };
    const inFlightReplied = this.state.inFlightReplied;
    for (const [index, item] of abandoned.entries()) {
      if (expectsReply(item.packet) && !(index === 0 && toGuest.inFlight !== undefined && inFlightReplied)) this.failRequest(item.packet, TARGET_GONE_STATUS, at);
    }
    if (awaitingReply !== undefined) this.failRequest(awaitingReply.packet, TARGET_GONE_STATUS, at);
    this.sendTargetGone(at);
  }

  private guestBack(): void {
    if (this.state.target.present) return;
    const firstArrival = this.state.counters.targetGone === 0;
    this.state = { ...this.state, target: trackTarget(this.state.target, { guest: 'back' }), debugger: { ...this.state.debugger, hasStop: false } };
    // A guest that was never gone is arriving, not coming back: the link's connect says so.
    if (!firstArrival) this.record({ kind: 'target-back' });
    if (this.state.breakinForGuest) {
      // The debugger's break-in, held while the guest was not there: the stop it causes is the
      // answer the debugger is waiting for.
      this.state = { ...this.state, breakinForGuest: false };
      this.count('breakinsHeldForGuest');
      this.effects.push({ kind: 'guest-breakin' });
    }
    if (this.state.config.resyncGuestOnReturn && !firstArrival) this.resyncGuest();
  }

  private sendTargetGone(at: number): void {
    this.count('syntheticStateChanges');
    this.toDebugger(createTargetGoneStateChange(this.state.lastRealStateChange), 'synthetic', at);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private notice(side: RouteSide, event: 'breakin' | 'reset', at: number): void {
    const key: NoticeKey = `${side}:${event}`;
    const decision = noteNotice(this.state.notices, key, at, this.state.config.noticeWindowMs);
    this.state = { ...this.state, notices: decision.windows };
    if (decision.summary !== undefined) this.summary(decision.summary.key, decision.summary.count, decision.summary.ms);
    if (decision.record) this.record({ kind: 'link', side, event });
    if (decision.timerAt !== undefined) this.effects.push({ kind: 'timer', at: decision.timerAt });
  }

  private summary(key: NoticeKey, count: number, ms: number): void {
    const [side, event] = key.split(':') as [RouteSide, 'breakin' | 'reset'];
    this.record({ kind: 'summary', side, event, count, ms });
  }

  private track(dir: Direction, packet: KdPacket): void {
    this.state = { ...this.state, target: trackTarget(this.state.target, { dir, packet }) };
  }

  private setDebugger(patch: { hasStop: boolean }): void {
    this.state = { ...this.state, debugger: { ...this.state.debugger, ...patch } };
  }

  private item(packet: KdPacket, origin: PacketOrigin, at: number): QueueItem {
    const seq = this.state.nextSeq;
    this.state = { ...this.state, nextSeq: seq + 1 };
    return { seq, packet, origin, receivedAt: at, held: false };
  }

  private count(counter: keyof RouteState['counters']): void {
    this.state = { ...this.state, counters: { ...this.state.counters, [counter]: this.state.counters[counter] + 1 } };
  }

  private record(record: RouteRecord): void {
    this.effects.push({ kind: 'record', record });
  }
}

/** A state change is queued or in flight toward the debugger. */
function stateChangeOutstanding(direction: DirectionState): boolean {
  if (direction.inFlight !== undefined && isStateChange(direction.inFlight.packet)) return true;
  return direction.waiting.some((item) => isStateChange(item.packet));
}

function samePayload(a: KdPacket | undefined, b: KdPacket): boolean {
  if (a === undefined || a.type !== b.type || a.payload.byteLength !== b.payload.byteLength) return false;
  for (let i = 0; i < a.payload.byteLength; i++) if (a.payload[i] !== b.payload[i]) return false;
  return true;
}
