import { KdPacketType } from '../api/constants.js';
import { LinkErrorCode, VmkdError } from '../errors.js';
import { emptyLinkStats, type KdPacket, type LinkRole, type LinkStats } from '../packet-link.js';
import { systemClock, type KdcomClock } from './clock.js';
import { BREAKIN_BYTE, INITIAL_PACKET_ID, SYNC_PACKET_ID } from './constants.js';
import type { KdcomFrameEvent } from './frame-decoder.js';
import { encodeControlFrame, encodeDataFrame, encodeDataFrameAround } from './frame-encoder.js';
import { FRESH_TARGET_SEND_ID, nextPacketId, stripSync } from './packet-ids.js';
import { isQuickTimeoutPacket } from './quick-timeout.js';

export interface KdcomMachineOptions {
  /** Which side the far end is: `debugger-facing` = we play the target, `target-facing` = we play the debugger. */
  role: LinkRole;
  clock?: KdcomClock;
  /**
   * T_ack: how long to wait for an ACK (or a RESET reply) before retransmitting. Default 1000 ms.
   * With `retransmit: 'adaptive'` it is the ceiling of the adaptive timeout and the unit of the
   * give-up budget.
   */
  ackTimeoutMs?: number;
  /**
   * Ordinary packets (and our RESET) are given up with ERR_LINK_TIMEOUT after this many
   * retransmissions (`fixed`), or after as long as that takes at T_ack (`adaptive`). Default 20.
   */
  maxRetries?: number;
  /** The same for quick-timeout packets (target role only), then "debugger not present". Default 5. */
  quickRetries?: number;
  /**
   * How long to wait before a retransmission. `adaptive`: proportional to the round trip measured
   * on this link's own ACKs (RFC 6298's smoothed RTT + 4 × variance, Karn's rule, doubled on each
   * timeout), between `minRtoMs` and `ackTimeoutMs`, so a lost byte costs a few milliseconds
   * instead of T_ack. `fixed`: always `ackTimeoutMs`, the legacy behaviour real UARTs are paced
   * for (the serial device path sets it). Default: `adaptive` in the debugger role (the peer is a
   * KD stub, which ACKs in its receive routine before anything else), `fixed` in the target role
   * (the peer is a debugger program that ACKs when its own loop gets there: radare2 polls in
   * 100 ms slices, and a duplicate reply is one more thing for it to get wrong). vmkd's own
   * target side may ask for `adaptive` (the benchmark does).
   */
  retransmit?: 'adaptive' | 'fixed';
  /** The adaptive timeout's floor. Default 10 ms (event-loop jitter on a busy machine stays below it mostly; a spurious retransmission only costs a duplicate the peer ACKs and drops). */
  minRtoMs?: number;
  /**
   * The "peer already moved on" rule (KD spec 1.8, ReactOS): a new data packet from the peer while
   * we wait for an ACK counts as that ACK; we answer RESEND so the peer repeats its packet.
   * Right for half-duplex peers (real debuggers and targets). Default: on for the target role
   * (`debugger-facing`), off for the debugger role.
   */
  impliedAck?: boolean;
}

/** What the machine asks its host to do. Calls happen synchronously inside the machine's methods. */
export interface KdcomMachineOutput<T> {
  /** Put these bytes on the wire, in call order. */
  write(bytes: Uint8Array): void;
  /** A new data packet from the peer (exactly once, in order). */
  deliver(packet: KdPacket): void;
  /** The packet queued with this token was acknowledged. */
  sent(token: T): void;
  /** The packet queued with this token was given up (timeout) or the machine closed. */
  failed(token: T, error: VmkdError): void;
  /** The debugger sent a break-in byte (target role only). */
  peerBreakIn(): void;
  /** The peer sent RESET; we answered it and will retransmit whatever was pending. */
  peerReset(): void;
  /** Our RESET was answered (or the target showed it is in step by sending a state change, see onData). */
  resynced(): void;
  /** Our RESET went unanswered within the retry budget, or the machine closed. */
  resyncFailed(error: VmkdError): void;
}

interface Outgoing<T> {
  readonly token: T;
  readonly type: number;
  readonly quick: boolean;
  /** The encoded frame; its id bytes are patched when the id changes. */
  frame: Uint8Array;
  id: number;
  /** The frame has been handed to write() at least once (so it must not be patched in place). */
  written: boolean;
  /** When it was first written (the give-up budget and the RTT sample start here). */
  firstSentAt: number;
  /** Written more than once: its ACK gives no RTT sample (Karn's rule). */
  retransmitted: boolean;
}

/**
 * The KDCOM link layer (KD spec 1.5, 1.6, 1.8) as pure logic: decoder events and API calls in,
 * output calls out, time only through the injected clock. Stop-and-wait: one data packet in
 * flight, the rest queued FIFO.
 */
export class KdcomLinkMachine<T> {
  readonly role: LinkRole;
  /** Counters; the host adds `bytesIn`. */
  readonly stats: LinkStats = emptyLinkStats();
  private nextSendId: number;
  private expectedRecvId = INITIAL_PACKET_ID;
  private readonly queue: Outgoing<T>[] = [];
  private waitingAck = false;
  private retries = 0;
  /**
   * Our RESET exchange is open (resync(): RESET written, retries included, none back yet). The
   * first RESET back closes it; see onReset() for why that is enough and what later ones mean.
   */
  private resetPending = false;
  /** The last acknowledged frame, for a RESEND that arrives when nothing is in flight. */
  private lastFrame: Uint8Array | null = null;
  private lastFrameType = -1;
  private closed = false;
  /** The last delivered packet if it carried SYNC (debugger role: tells a repeat from a restarted target). */
  private lastSync: { type: number; length: number; checksum: number } | null = null;
  private readonly clock: KdcomClock;
  private readonly ackTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly quickRetries: number;
  private readonly impliedAck: boolean;
  private readonly adaptive: boolean;
  private readonly minRtoMs: number;
  /** RFC 6298 state; `srtt` < 0 until the first sample. */
  private srtt = -1;
  private rttvar = 0;
  /** When the current resync() started (its give-up budget). */
  private resetStartedAt = 0;
  /** Target role: the kernel this link serves is running (Windows-faithful input handling, spec 1.9). */
  private kernelRunning = false;
  /** A RESET from the peer was answered in the current input chunk: later ones in it are stale (flush on reset). */
  private resetAnsweredInChunk = false;
  /**
   * Debugger role: the last packet delivered while our RESET was unanswered. The target may have
   * answered that RESET before our ACK reached it, and then retransmits the same packet with the
   * restarted id: the first packet after the exchange, if identical, is ACKed and not delivered.
   */
  private takenDuringReset: { type: number; length: number; checksum: number } | null = null;
  private repeatAfterReset: { type: number; length: number; checksum: number } | null = null;
  /** The last packet delivered (a straggling RESET reply may bring its retransmission, see onReset). */
  private lastTaken: { type: number; length: number; checksum: number } | null = null;
  /** Debugger role: a state change came while our RESET was unanswered (see onData). */
  private stopSeenDuringReset = false;
  /**
   * The id the packet in flight was written with before our RESET exchange closed (see onReset).
   * It was written before our RESET, and the byte stream is ordered, so the peer saw it before the
   * RESET: an ACK with that id is its answer to that packet, whatever our ids say now.
   */
  private idBeforeReset: number | null = null;
  /** When we last wrote a RESET. */
  private lastResetAt = 0;
  private deadline = Infinity;
  private timer: unknown = undefined;
  private timerDueAt = Infinity;

  constructor(
    options: KdcomMachineOptions,
    private readonly out: KdcomMachineOutput<T>,
  ) {
    this.role = options.role;
    this.clock = options.clock ?? systemClock;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 1000;
    this.maxRetries = options.maxRetries ?? 20;
    this.quickRetries = options.quickRetries ?? 5;
    this.impliedAck = options.impliedAck ?? options.role === 'debugger-facing';
    this.adaptive = (options.retransmit ?? (options.role === 'target-facing' ? 'adaptive' : 'fixed')) === 'adaptive';
    this.minRtoMs = Math.min(options.minRtoMs ?? 10, this.ackTimeoutMs);
    // A target starts fresh: its first packet carries SYNC (spec 1.5).
    this.nextSendId = this.isTarget ? FRESH_TARGET_SEND_ID : INITIAL_PACKET_ID;
  }

  /** The ids as the spec names them, for tests and diagnostics. */
  get ids(): { nextSendId: number; expectedRecvId: number } {
    return { nextSendId: this.nextSendId, expectedRecvId: this.expectedRecvId };
  }

  /** Packets queued or in flight. */
  get queued(): number {
    return this.queue.length;
  }

  /** The retransmission timeout a fresh packet gets now (ms). */
  get rto(): number {
    if (!this.adaptive || this.srtt < 0) return this.ackTimeoutMs;
    return Math.min(this.ackTimeoutMs, Math.max(this.minRtoMs, this.srtt + 4 * this.rttvar));
  }

  /**
   * Target role: the kernel this link serves is running or stopped. A running Windows kernel only
   * polls for the break-in byte, so everything else that arrives while it is not sending is
   * consumed and ignored, RESETs included (spec 1.9); stopped, it answers RESET and RESEND by
   * sending its state change again. A link nobody tells behaves as stopped.
   */
  setKernelRunning(running: boolean): void {
    if (this.isTarget) this.kernelRunning = running;
  }

  /**
   * Target role: the kernel behind this link booted again (a reboot). Windows starts with a fresh
   * KD state (spec 1.5): its first packet carries SYNC (0x80800800) and it expects the debugger's
   * next packet as 0x80800000. Whatever the old kernel had queued or in flight is gone with it
   * (failed with ERR_LINK_TARGET_RESTARTED). The debugger's next packet may carry another id (it
   * learns of the restart from our SYNC packet): it is taken and followed (see onData), unless it
   * repeats the packet taken last, such as a Reboot request sent again because our ACK was lost.
   */
  restart(): void {
    if (this.closed || !this.isTarget) return;
    const dropped = this.queue.splice(0);
    this.waitingAck = false;
    this.retries = 0;
    this.deadline = Infinity;
    this.nextSendId = FRESH_TARGET_SEND_ID;
    this.expectedRecvId = INITIAL_PACKET_ID;
    this.lastFrame = null;
    this.lastFrameType = -1;
    this.lastSync = null;
    this.repeatAfterReset = null;
    this.takenDuringReset = null;
    this.stats.resyncs += 1;
    const error = new VmkdError(LinkErrorCode.TargetRestarted, 'KDCOM: the target restarted; a packet of the old kernel was dropped', { canceled: true });
    for (const p of dropped) this.out.failed(p.token, error);
  }

  /** The host finished feeding one chunk of input: RESETs queued behind an answered one were flushed with it. */
  endOfInput(): void {
    this.resetAnsweredInChunk = false;
  }

  private get isTarget(): boolean {
    return this.role === 'debugger-facing';
  }

  /**
   * Queue a data packet. The payload is encoded (copied) now, so the caller may reuse it — unless
   * the packet is marked `frameInPlace`, when the frame is written around it in its own buffer.
   */
  send(packet: KdPacket, token: T): void {
    if (this.closed) {
      this.out.failed(token, closedError());
      return;
    }
    this.queue.push({
      token,
      type: packet.type,
      quick: this.isTarget && isQuickTimeoutPacket(packet),
      frame:
        (packet.frameInPlace === true ? encodeDataFrameAround(packet.type, this.nextSendId, packet.payload) : undefined) ??
        encodeDataFrame(packet.type, this.nextSendId, packet.payload),
      id: this.nextSendId,
      written: false,
      firstSentAt: 0,
      retransmitted: false,
    });
    this.stats.packetsOut += 1;
    this.pump();
  }

  /** Debugger role: a lone `b`, ahead of anything queued. */
  breakIn(): void {
    if (this.closed) return;
    this.stats.breakins += 1;
    this.write(Uint8Array.of(BREAKIN_BYTE));
  }

  /**
   * Start a RESET exchange; `resynced()` follows the peer's RESET. Our ids stay as they are until
   * it comes; a packet in flight stays in flight (an ACK already on its way still counts: the
   * byte stream is ordered, so it arrives before the RESET reply) and goes again, renumbered, if
   * no ACK comes after the exchange.
   */
  resync(): void {
    if (this.closed) return;
    if (!this.resetPending) this.resetStartedAt = this.clock.now();
    this.resetPending = true;
    this.retries = 0;
    this.stats.resyncs += 1;
    this.writeControl(KdPacketType.Reset, 0);
    this.arm();
  }

  /** Stop: fail everything pending with `error` and never write again. */
  close(error: VmkdError): void {
    if (this.closed) return;
    this.closed = true;
    this.deadline = Infinity;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.queue.splice(0);
    if (this.resetPending) {
      this.resetPending = false;
      this.out.resyncFailed(error);
    }
    for (const p of pending) this.out.failed(p.token, error);
  }

  /** Feed one decoder event. */
  receive(event: KdcomFrameEvent): void {
    if (this.closed) return;
    if (this.ignoresInput(event)) return;
    switch (event.kind) {
      case 'data':
        this.onData(event.type, event.id, event.payload, event.checksum);
        return;
      case 'control':
        this.onControl(event.type, event.id);
        return;
      case 'breakin':
        if (this.isTarget) {
          this.stats.breakins += 1;
          // The kernel stops at this byte; whatever follows it (radare2's RESET) is read by the
          // stopped kernel, as a UART's FIFO hands it over after the poll took the `b`.
          this.kernelRunning = false;
          this.out.peerBreakIn();
        }
        return;
      case 'bad-frame':
        this.stats.badFrames += 1;
        // Only a data frame is worth a RESEND; nobody retransmits a control packet.
        if (event.leader === 'data') this.sendResend();
        return;
      case 'garbage':
        this.stats.garbageBytes += event.count;
        return;
      case 'resync':
        this.stats.resyncs += 1;
        return;
    }
  }

  /**
   * A running Windows kernel that is not sending polls only for the break-in byte (spec 1.9): the
   * rest is consumed and ignored. Repeats of a packet already taken are still ACKed (our ACK of a
   * Continue may have been lost, and the kernel's link layer would have ACKed it in its send loop).
   */
  private ignoresInput(event: KdcomFrameEvent): boolean {
    if (!this.kernelRunning || this.waitingAck) return false;
    if (event.kind === 'data') return stripSync(event.id) === this.expectedRecvId;
    return event.kind === 'control' || event.kind === 'bad-frame';
  }

  private onData(type: number, id: number, payload: Uint8Array, checksum: number): void {
    // Target role: while our RESET is unanswered the ids are about to change; ignore data, the
    // debugger repeats it. A debugger never blocks data on its RESET: a running Windows target
    // ignores RESET (spec 1.9), so its state change and prints come with its current ids.
    if (this.resetPending && this.isTarget) return;
    const sync = (id & SYNC_PACKET_ID) !== 0;
    if (stripSync(id) !== this.expectedRecvId) {
      if (sync && !this.isTarget && !this.isRepeatOfLastSync(type, payload.length, checksum)) {
        // A SYNC packet that is not a repeat of the last one we took: the target started over
        // (reboot, or it gave up on us). Follow it rather than drop its first packet as a duplicate.
        this.expectedRecvId = this.nextSendId = INITIAL_PACKET_ID;
        this.lastFrame = null;
        this.stats.resyncs += 1;
      } else if (this.isLastTaken(type, payload.length, checksum)) {
        // A duplicate: the peer missed our ACK. ACK again, deliver nothing.
        this.writeControl(KdPacketType.Acknowledge, this.ackIdFor(id));
        return;
      } else {
        // Not the id we expect, yet not the packet we took last: a peer only ever repeats its
        // last packet (stop-and-wait), so this one is new, and the two ends number from
        // different restarts (a RESET one side took for an exchange the other never made: a
        // straggling answer, a RESET a running target consumed, a damaged id). Take it and
        // number from it. Calling it a duplicate would ACK a packet we drop: lost for good.
        this.expectedRecvId = stripSync(id);
        this.stats.resyncs += 1;
      }
    }
    if (this.waitingAck && this.impliedAck) {
      // The peer moved on, so it has our packet. Ask it to repeat its own; count ours as delivered.
      this.sendResend();
      this.acknowledgeHead(false);
      return;
    }
    this.writeControl(KdPacketType.Acknowledge, this.ackIdFor(id));
    this.expectedRecvId = (this.expectedRecvId ^ 1) >>> 0;
    this.lastSync = sync ? { type, length: payload.length, checksum } : null;
    const repeat = this.repeatAfterReset;
    this.repeatAfterReset = null;
    if (repeat !== null && repeat.type === type && repeat.length === payload.length && repeat.checksum === checksum) {
      this.lastTaken = repeat;
      return;
    }
    this.lastTaken = { type, length: payload.length, checksum };
    if (this.resetPending) this.takenDuringReset = this.lastTaken;
    // A stopped target announces its stop again after every RESET exchange; sessions expect that
    // (it is how they learn the target's state after a reset), so repeats are delivered, and the
    // router decides what a debugger sees.
    if (!this.isTarget && type === KdPacketType.StateChange64) {
      if (this.resetPending) {
        // The target stopped. If it had time to answer our RESET and did not, it was running and
        // consumed it: start over now. Otherwise the reply may still come (a stopped target
        // crossing our RESET with its announcement); wait that long, then decide.
        const grace = this.crossingGrace();
        const waited = this.clock.now() - this.lastResetAt;
        if (waited >= grace) this.inStepDuringReset();
        else {
          this.stopSeenDuringReset = true;
          this.arm(grace - waited);
        }
      }
    }
    this.stats.packetsIn += 1;
    this.out.deliver({ type, payload });
  }

  /**
   * How long a RESET reply may trail a state change that crossed our RESET: one RTO once the link
   * has measured its round trip; before that (often the case at attach) 5 × the RTO floor, not
   * the 1 s an unmeasured RTO defaults to.
   */
  private crossingGrace(): number {
    return this.adaptive && this.srtt < 0 ? Math.min(this.ackTimeoutMs, 5 * this.minRtoMs) : this.rto;
  }

  /**
   * Debugger role: a state change arrived while our RESET is unanswered. The target is stopped and
   * talking with its current ids; RESETs it got while running were consumed, never to be answered
   * (spec 1.9). Send one fresh RESET now, which a stopped target answers at once, instead of
   * waiting for the backed-off retry.
   */
  private inStepDuringReset(): void {
    this.stopSeenDuringReset = false;
    this.retries = 0;
    this.resetStartedAt = this.clock.now();
    this.writeControl(KdPacketType.Reset, 0);
    this.arm(this.rto);
  }

  /** The last packet taken, again (retransmissions are byte-identical; see isRepeatOfLastSync). */
  private isLastTaken(type: number, length: number, checksum: number): boolean {
    const last = this.lastTaken;
    return last !== null && last.type === type && last.length === length && last.checksum === checksum;
  }

  /** Retransmissions are byte-identical, so type, length and checksum tell a repeat from a new packet. */
  private isRepeatOfLastSync(type: number, length: number, checksum: number): boolean {
    const last = this.lastSync;
    return last !== null && last.type === type && last.length === length && last.checksum === checksum;
  }

  private onControl(type: number, id: number): void {
    switch (type) {
      case KdPacketType.Acknowledge:
        if (!this.waitingAck) return;
        if (id === this.nextSendId || id === stripSync(this.nextSendId)) this.acknowledgeHead();
        else if (this.idBeforeReset !== null && (id === this.idBeforeReset || id === stripSync(this.idBeforeReset))) {
          // Taken before the peer restarted its ids: it used no id of the new numbering.
          this.acknowledgeHead(false, false);
        }
        return;
      case KdPacketType.Resend:
        if (this.resetPending) return;
        if (this.waitingAck) this.transmitHead(true);
        else if (this.isTarget && (this.lastFrame === null || this.lastFrameType === KdPacketType.StateChange64)) {
          // A stopped target waiting for a request re-sends its state change (spec 1.6): the session
          // announces it again on `reset`. Once the conversation has started (the last frame was a
          // reply), a RESEND is line noise from a recovery, and repeating that reply (a duplicate the
          // debugger ACKs and drops) keeps a session from taking a stray state change mid-request.
          this.out.peerReset();
        } else if (this.lastFrame !== null) {
          // Nothing in flight: repeat the last packet unchanged; the peer sees a duplicate and ACKs it.
          this.stats.resends += 1;
          this.write(this.lastFrame);
        }
        return;
      case KdPacketType.Reset:
        this.onReset();
        return;
      default:
      // Unknown control types are ignored (spec 1.6).
    }
  }

  private onReset(): void {
    if (this.resetPending) {
      // The first RESET back closes our exchange: the peer restarted its ids when it answered,
      // and numbers what it sends from there. (It may answer our retries too, or fewer of them
      // if it flushes RESETs that queued up; those come as RESETs we did not ask for, below.)
      // A packet in flight is not written again at once: if the peer took it before it
      // answered, its ACK is already on the way (an earlier answer may also have closed the
      // exchange); if not, it goes after one RTO, with the new id.
      this.resetPending = false;
      const inFlight = this.waitingAck;
      const writtenAs = inFlight ? this.queue[0]?.id : undefined;
      this.resetIds();
      // The answer may be a straggler the peer sent before it saw our RESET (an answer to a retry
      // of an earlier exchange): then the packet in flight may already be taken, and its ACK,
      // carrying the old id, still on the way. Taking that ACK keeps the packet from going again
      // under the new numbering, where a peer that has since restarted its ids would take it twice.
      this.idBeforeReset = writtenAs ?? null;
      this.repeatAfterReset = this.takenDuringReset;
      this.takenDuringReset = null;
      this.out.resynced();
      if (inFlight) {
        this.waitingAck = true;
        this.arm(this.rto);
      } else this.pump();
      return;
    }
    if (!this.isTarget) {
      // Debugger role: a RESET we did not ask for, i.e. the answer to one of our retries after
      // an earlier answer closed the exchange, or the answer to a RESET that reached the target
      // from elsewhere. Both links used to answer every such RESET, so two links bounced RESETs
      // at each other for as long as both answered; and a Windows target that resumed meanwhile
      // ignores the answer (spec 1.9), so the debugger restarted its ids alone and its next
      // request was taken for a duplicate and dropped. Now the debugger side only asks and the
      // target side only answers: our ids stay. If the target did restart its ids, its next
      // packet shows it and onData follows; if that packet is what we took last, retransmitted
      // under the new numbering, it is ACKed and dropped (KD spec 1.5, 1.6).
      this.stats.resyncs += 1;
      this.repeatAfterReset = this.lastTaken;
      this.out.peerReset();
      return;
    }
    // Flush on reset (virtualkd-kdrpc spec 7.3): RESETs that queued up behind this one (WinDbg
    // repeats them about once a second on a pipe) are stale; answering each would retransmit the
    // pending packet once per RESET and can start a resync bounce.
    if (this.resetAnsweredInChunk) return;
    this.resetAnsweredInChunk = true;
    this.writeControl(KdPacketType.Reset, 0);
    this.resetIds();
    this.stats.resyncs += 1;
    this.out.peerReset();
    this.pump();
  }

  private resetIds(): void {
    this.stopSeenDuringReset = false;
    this.idBeforeReset = null;
    this.expectedRecvId = this.nextSendId = INITIAL_PACKET_ID;
    this.lastFrame = null;
    this.lastSync = null;
    // A RESET ends duplicate detection by id (spec 1.5). The target side forgets what it took:
    // after a RESET a debugger may send the same request again on purpose (it lost the reply),
    // and that must be served. The debugger side keeps it: a target only ever sends the same
    // thing again as a retransmission or as a new announcement, which comes with the next id.
    if (this.isTarget) this.lastTaken = null;
    this.retries = 0;
    this.waitingAck = false;
    this.deadline = Infinity;
  }

  private acknowledgeHead(sample = true, advanceId = true): void {
    this.idBeforeReset = null;
    const head = this.queue.shift();
    if (sample && head !== undefined && !head.retransmitted && head.written) this.sampleRtt(this.clock.now() - head.firstSentAt);
    this.waitingAck = false;
    if (!this.resetPending) {
      // (During our RESET the timer and retry count belong to the RESET.)
      this.retries = 0;
      this.deadline = Infinity;
    }
    if (advanceId) this.nextSendId = nextPacketId(this.nextSendId);
    if (head === undefined) return;
    this.lastFrame = head.frame;
    this.lastFrameType = head.type;
    this.out.sent(head.token);
    this.pump();
  }

  private pump(): void {
    if (!this.waitingAck && !this.resetPending && !this.closed && this.queue.length > 0) this.transmitHead(false);
  }

  private transmitHead(retransmit: boolean): void {
    const head = this.queue[0];
    if (head.id !== this.nextSendId) {
      // Ids moved (ACK of the previous packet, RESET): re-stamp. A frame already handed to the
      // byte link may still be queued there, so patch a copy.
      if (head.written) head.frame = head.frame.slice();
      writeU32(head.frame, 8, this.nextSendId);
      head.id = this.nextSendId;
      // Written again under the new numbering: only the new id's ACK keeps both ends in step now.
      this.idBeforeReset = null;
    }
    if (retransmit) {
      this.stats.resends += 1;
      head.retransmitted = true;
    }
    if (!head.written) head.firstSentAt = this.clock.now();
    head.written = true;
    this.waitingAck = true;
    this.write(head.frame);
    this.arm(this.backedOff());
  }

  /** RFC 6298 §2: SRTT and RTTVAR from one round trip. */
  private sampleRtt(ms: number): void {
    if (!this.adaptive) return;
    const r = Math.max(0, ms);
    if (this.srtt < 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
  }

  /** The timeout for the next wait: the RTO doubled once per timeout already taken (RFC 6298 §5.5), at most T_ack. */
  private backedOff(): number {
    return Math.min(this.ackTimeoutMs, this.rto * 2 ** Math.min(this.retries, 16));
  }

  /**
   * The retry budget: `fixed` counts retransmissions; `adaptive` also allows the time that many
   * would take at T_ack (both must be spent), so a user waits as long as before for "not
   * acknowledged" while a lost byte is repaired within a few round trips.
   */
  private exhausted(limit: number, since: number): boolean {
    if (!this.adaptive) return this.retries > limit;
    return this.retries > limit && this.clock.now() - since >= (limit + 1) * this.ackTimeoutMs;
  }

  private onTimeout(): void {
    if (this.resetPending && this.stopSeenDuringReset) {
      this.inStepDuringReset();
      return;
    }
    if (this.resetPending) {
      this.retries += 1;
      if (this.exhausted(this.maxRetries, this.resetStartedAt)) {
        // Answers that still come are RESETs we did not ask for (onReset): they change nothing.
        this.resetPending = false;
        this.retries = 0;
        this.out.resyncFailed(new VmkdError(LinkErrorCode.Timeout, 'KDCOM: the peer did not answer RESET', { details: { retries: this.maxRetries } }));
        // A packet in flight waited with the RESET; its own retransmissions resume.
        if (this.waitingAck) this.arm();
        else this.pump();
      } else {
        this.writeControl(KdPacketType.Reset, 0);
        this.arm(this.backedOff());
      }
      return;
    }
    if (!this.waitingAck) return;
    const head = this.queue[0];
    const limit = head.quick ? this.quickRetries : this.maxRetries;
    this.retries += 1;
    if (!this.exhausted(limit, head.firstSentAt)) {
      this.transmitHead(true);
      return;
    }
    this.queue.shift();
    this.waitingAck = false;
    this.retries = 0;
    if (this.isTarget) {
      // "Debugger not present": start over as a fresh target (spec 1.8).
      this.nextSendId = FRESH_TARGET_SEND_ID;
      this.expectedRecvId = INITIAL_PACKET_ID;
    }
    this.out.failed(
      head.token,
      new VmkdError(LinkErrorCode.Timeout, `KDCOM: packet of type ${head.type} not acknowledged after ${limit} retries`, {
        details: { type: head.type, retries: limit, quick: head.quick },
      }),
    );
    this.pump();
  }

  private ackIdFor(id: number): number {
    // A debugger ACKs with SYNC stripped (what ReactOS and QEMU targets require); a target echoes the id.
    return this.isTarget ? id : stripSync(id);
  }

  private sendResend(): void {
    this.stats.resends += 1;
    this.writeControl(KdPacketType.Resend, 0);
  }

  private writeControl(type: number, id: number): void {
    if (type === KdPacketType.Reset) this.lastResetAt = this.clock.now();
    this.write(encodeControlFrame(type, id));
  }

  private write(bytes: Uint8Array): void {
    this.stats.bytesOut += bytes.length;
    this.out.write(bytes);
  }

  // One timer, pushed forward lazily: re-arming on every packet costs a comparison, not a timer.
  // An adaptive timeout can bring the deadline forward; only then is the timer replaced.
  private arm(ms = this.backedOff()): void {
    const now = this.clock.now();
    this.deadline = now + ms;
    if (this.timer !== undefined && this.timerDueAt > this.deadline) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.timer === undefined) {
      this.timerDueAt = this.deadline;
      this.timer = this.clock.setTimeout(this.onTimer, ms);
    }
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.closed || this.deadline === Infinity) return;
    const left = this.deadline - this.clock.now();
    if (left > 0) {
      this.timerDueAt = this.deadline;
      this.timer = this.clock.setTimeout(this.onTimer, left);
      return;
    }
    this.deadline = Infinity;
    this.onTimeout();
  };
}

function closedError(): VmkdError {
  return new VmkdError(LinkErrorCode.Closed, 'KDCOM: link closed', { canceled: true });
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
