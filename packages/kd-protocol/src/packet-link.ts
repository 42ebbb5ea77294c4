import type { Observable } from 'rxjs';
import type { VmkdError } from './errors.js';

/**
 * One KD packet as `KdSendPacket` hands it to a transport: the packet type (1.3 of the KD spec) and
 * the payload = message header ++ message data. KDCOM puts the two back to back; KDRPC carries them
 * as two buffers. Link-layer details (leader, id, checksum, trailer, ACKs) never appear here.
 */
export interface KdPacket {
  readonly type: number;
  readonly payload: Uint8Array;
  /**
   * Optional, set only by a sender that built `payload` inside a larger buffer of its own and gives
   * that whole buffer up with this send: a link may then write its framing into the bytes around
   * the payload (KDCOM: `FRAME_ROOM.head` before, `FRAME_ROOM.tail` after) instead of copying the
   * payload into a new frame. Links that frame nothing, or find too little room, ignore it. The
   * payload bytes themselves are never changed; packets a link delivers never carry it.
   */
  readonly frameInPlace?: boolean;
}

/** The room around a payload that lets every vmkd transport frame it in place (KDCOM's header and trailer). */
export const FRAME_ROOM = { head: 16, tail: 1 } as const;

/** What a packet link reports. */
export type LinkEvent =
  /** A data packet from the peer, delivered exactly once and in order. */
  | { readonly kind: 'packet'; readonly packet: KdPacket }
  /** The debugger side asked the target to stop (KDCOM `b`, KDRPC break-in). Seen on debugger-facing links. */
  | { readonly kind: 'breakin' }
  /** The peer resynchronised (a KDCOM RESET, a new debugger's first RESET). Pending sends are retransmitted by the link. */
  | { readonly kind: 'reset' }
  /** A peer (re)connected: a debugger attached to an endpoint, a guest's serial socket came up. */
  | { readonly kind: 'connect'; readonly peer?: string }
  /** The peer went away. The link may see another `connect` later (endpoints accept debugger after debugger). */
  | { readonly kind: 'disconnect'; readonly error?: VmkdError };

/** Which side of the KD conversation the *far end* of this link is. */
export type LinkRole =
  /** We play the debugger; the far end is a target (a guest's serial port, a KDRPC guest). */
  | 'target-facing'
  /** We play the target; the far end is a debugger (WinDbg on a pipe, vmkd's DebuggerSession). */
  | 'debugger-facing';

export interface LinkStats {
  packetsIn: number;
  packetsOut: number;
  /** Bytes on this link's wire (frames included) or in its RPC bodies. */
  bytesIn: number;
  bytesOut: number;
  /** RESENDs we sent plus retransmissions we made. */
  resends: number;
  /** RESET exchanges and leader hunts that had to skip garbage. */
  resyncs: number;
  /** Bytes skipped while hunting for a leader. */
  garbageBytes: number;
  /** Frames that failed checksum, trailer or length checks. */
  badFrames: number;
  breakins: number;
}

/**
 * One end of a reliable KD packet pipe: the seam every transport, endpoint, session and the router
 * meet at (architecture.md §2).
 *
 * Rules every implementation follows:
 * - `events$` delivers asynchronously (never inside a call made on the link). Events that happen
 *   before the first subscriber are held (bounded, see `createHeldEvents`) and handed to it first;
 *   after that the stream is hot. It completes after close().
 * - Packets arrive exactly once and in order. send() copies (or encodes) the payload before it
 *   returns, so the caller may reuse its buffer; a payload larger than the link carries is refused
 *   with `ERR_LINK_PACKET_TOO_LARGE` before anything is queued.
 * - `send()` resolves once the far side has the packet (its ACK on KDCOM, the RPC reply on KDRPC).
 *   Sends are queued FIFO; callers that await each send get stop-and-wait backpressure. While the
 *   peer is disconnected, a send waits for a reconnect only up to the link's timeout, then rejects
 *   with `ERR_LINK_TIMEOUT`; after close() pending sends reject with `ERR_LINK_CLOSED` (`canceled`).
 * - `breakIn()` and `resync()` exist on target-facing links; debugger-facing links reject them with
 *   `ERR_LINK_UNSUPPORTED`.
 * - close() is idempotent; afterwards send(), breakIn() and resync() reject with `ERR_LINK_CLOSED`
 *   (`canceled`), and the peer reports `disconnect`.
 *
 * `describePacketLinkContract` in `@vmkd/kd-protocol/testing` checks all of this; every
 * implementation runs it.
 */
export interface PacketLink {
  readonly name: string;
  readonly role: LinkRole;
  readonly events$: Observable<LinkEvent>;
  /** True while a peer is attached. */
  readonly connected: boolean;
  send(packet: KdPacket): Promise<void>;
  /** Ask the target to stop (KDCOM: a lone `b`). Sent ahead of anything queued. */
  breakIn(): Promise<void>;
  /** Resynchronise with the target (KDCOM: RESET exchange). A stopped target re-sends its state change. */
  resync(): Promise<void>;
  /**
   * Optional, debugger-facing links only: the target behind this link is running (true) or
   * stopped (false); TargetSession calls it on every change. A KDCOM link then handles input as a
   * Windows kernel does (KD spec 1.9): running and not sending, it consumes and ignores everything
   * but the break-in byte, RESETs included; stopped, it answers RESET and RESEND and the session
   * sends its state change again. Links that carry no such behaviour leave it out.
   */
  setTargetRunning?(running: boolean): void;
  /**
   * Optional, debugger-facing links only: the target behind this link booted again (TargetSession
   * calls it when its backend reboots). A KDCOM link starts over with a fresh KD state as Windows
   * does (KD spec 1.5): its next packet carries SYNC, the debugger's next is expected as
   * 0x80800000, and packets of the old kernel still queued are dropped (ERR_LINK_TARGET_RESTARTED).
   */
  targetRestarted?(): void;
  stats(): LinkStats;
  close(): Promise<void>;
}

export function emptyLinkStats(): LinkStats {
  return { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, resends: 0, resyncs: 0, garbageBytes: 0, badFrames: 0, breakins: 0 };
}
