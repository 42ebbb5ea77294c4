import { emptyLinkStats, type KdPacket, type LinkEvent, type LinkStats, type VmkdError } from '@vmkd/kd-protocol';
import type { UdpAddress } from './control.js';
import type { DropReason } from './errors.js';
import type { KdnetKeys } from './key.js';

/**
 * A KDNET session as plain data, for both roles. The reducers (`reduceKdnet`) take it with one
 * event and return the next state and the effects the shell performs; the state itself is never
 * mutated. Time enters only through events (`now`), randomness only through `config.random`.
 */
export type KdnetRole =
  /** We play the debugger host toward a Windows `kdnet.dll` (target-facing PacketLink). */
  | 'guest'
  /** We play the target toward WinDbg `-k net:` or radare2 `winkd://` (debugger-facing PacketLink). */
  | 'endpoint';

export interface KdnetConfig {
  readonly role: KdnetRole;
  readonly keys: KdnetKeys;
  /** Fresh random bytes (nonces). Injected so tests can replay a session byte for byte. */
  readonly random: (n: number) => Uint8Array;
  /** How long to wait for a KD ACK (or a RESET reply) before retransmitting. */
  readonly ackTimeoutMs: number;
  /** Retransmissions before a send fails with ERR_LINK_TIMEOUT. */
  readonly maxRetries: number;
  /**
   * How long send(), resync() and breakIn() made while no peer is connected wait for one before
   * failing with ERR_LINK_TIMEOUT (PacketLink rule); a target pokes every ~3 s.
   */
  readonly connectWaitMs: number;
  /** Largest KD payload send() takes. */
  readonly maxPayload: number;
  /** Endpoint: the interval between pokes (Windows: about 3 s). */
  readonly pokeIntervalMs: number;
  /**
   * Guest: with no datagram from the target for this long, it is reported gone. A connected
   * `kdnet.dll` pokes about every 3 s (kdnet.md §2), so silence means it is not there any more.
   */
  readonly peerTimeoutMs: number;
  /** Endpoint: the protocol version byte of our pokes (the guest echoes the target's). */
  readonly version: number;
  /** Endpoint: the debugger we poke. Guest: learned from the first accepted poke. */
  readonly peer?: UdpAddress;
  /** Our own address as the poke reports it (endpoint). */
  readonly local?: UdpAddress;
}

/** One outgoing data packet. Tokens are the shell's handles for settling send() promises. */
export interface Outgoing {
  readonly token: number;
  readonly type: number;
  /** While no peer is connected: when this send gives up waiting for one. */
  readonly expires: number;
  /** The KD id stamped into `kd`; -1 until first transmitted. */
  readonly id: number;
  /** The KD bytes (header + payload), re-stamped when the id changes. */
  readonly kd: Uint8Array;
}

export type DropCounts = Readonly<Record<DropReason, number>>;

export interface KdnetCounters extends LinkStats {
  readonly drops: DropCounts;
  /** Pokes answered (guest) or sent (endpoint). */
  readonly pokes: number;
  /** Keep-alive pokes the guest saw and rightly left unanswered. */
  readonly keepAlives: number;
  /** Sessions started: a poke answered (guest) or a response accepted (endpoint). */
  readonly sessions: number;
  /** Data packets received again (a retransmission whose ACK was lost) and not delivered twice. */
  readonly duplicates: number;
  readonly acks: number;
}

export interface KdnetState {
  readonly config: KdnetConfig;
  readonly closed: boolean;
  /** Where the session's peer is; undefined until a guest has seen a poke. */
  readonly peer: UdpAddress | undefined;
  /** Present while a session is up: the data channel key. */
  readonly dataKey: Uint8Array | undefined;
  readonly version: number;
  /** Our next data-channel sequence number; never rewinds, not even across sessions (kdnet.md §3). */
  readonly sendSeq: number;
  /** The highest data sequence number seen from the peer in this session. */
  readonly recvSeq: number;
  /** Guest: nonce of the poke we answered (a replay of it is ignored). Endpoint: nonces of pokes not yet answered. */
  readonly nonces: readonly Uint8Array[];
  /** Endpoint: sequence number of our next poke; the response carries it back. */
  readonly pokeSeq: number;
  /** Endpoint: when the next poke is due. Guest: the earliest time for the next "poke now" nudge. */
  readonly nextPokeAt: number;
  readonly lastHeardAt: number;
  /** Guest: when the current session came up (the poke we answered); -Infinity before any. */
  readonly sessionAt: number;
  readonly nextSendId: number;
  readonly lastRecvId: number | undefined;
  readonly queue: readonly Outgoing[];
  readonly inFlight: boolean;
  readonly retries: number;
  readonly ackDeadline: number;
  /** The last data packet the peer acknowledged: what a RESEND with nothing in flight repeats. */
  readonly lastKd: Uint8Array | undefined;
  /** resync() calls waiting for the peer's RESET. */
  readonly resyncTokens: readonly number[];
  readonly resyncDeadline: number;
  readonly resyncRetries: number;
  /** A break-in asked for before the session existed: sent the moment it does (as ntoseye). */
  readonly breakinPending: boolean;
  readonly stats: KdnetCounters;
}

export type KdnetEvent =
  | { readonly kind: 'datagram'; readonly bytes: Uint8Array; readonly from: UdpAddress; readonly now: number }
  | { readonly kind: 'send'; readonly token: number; readonly packet: KdPacket; readonly now: number }
  | { readonly kind: 'breakin'; readonly now: number }
  | { readonly kind: 'resync'; readonly token: number; readonly now: number }
  /** Time passed (the shell's timer fired). */
  | { readonly kind: 'tick'; readonly now: number }
  /** The socket reported the peer unreachable (ICMP port unreachable on a connected socket). */
  | { readonly kind: 'unreachable'; readonly now: number; readonly error?: VmkdError }
  | { readonly kind: 'close'; readonly error: VmkdError };

export type KdnetEffect =
  | { readonly kind: 'transmit'; readonly bytes: Uint8Array; readonly to: UdpAddress }
  | { readonly kind: 'event'; readonly event: LinkEvent }
  | { readonly kind: 'settle'; readonly token: number; readonly error?: VmkdError }
  /** Call back with a `tick` at this time (the earliest deadline; Infinity: none). */
  | { readonly kind: 'wake'; readonly at: number };

export interface KdnetStep {
  readonly state: KdnetState;
  readonly effects: readonly KdnetEffect[];
}

/** Guest ids start at 0x80000000 (the host's numbering), endpoint ids at 0 (kdnet.md §3). */
export const HOST_FIRST_ID = 0x80000000;
export const TARGET_FIRST_ID = 0;

export function initialKdnetState(config: KdnetConfig, now = 0): KdnetState {
  return {
    config,
    closed: false,
    peer: config.role === 'endpoint' ? config.peer : undefined,
    dataKey: undefined,
    version: config.version,
    sendSeq: 1,
    recvSeq: 0,
    nonces: [],
    pokeSeq: 1,
    nextPokeAt: config.role === 'endpoint' ? now : 0,
    lastHeardAt: now,
    sessionAt: -Infinity,
    nextSendId: config.role === 'guest' ? HOST_FIRST_ID : TARGET_FIRST_ID,
    lastRecvId: undefined,
    queue: [],
    inFlight: false,
    retries: 0,
    ackDeadline: Infinity,
    lastKd: undefined,
    resyncTokens: [],
    resyncDeadline: Infinity,
    resyncRetries: 0,
    breakinPending: false,
    stats: {
      ...emptyLinkStats(),
      drops: { length: 0, magic: 0, channel: 0, hmac: 0, malformed: 0, replay: 0, direction: 0, unexpected: 0 },
      pokes: 0,
      keepAlives: 0,
      sessions: 0,
      duplicates: 0,
      acks: 0,
    },
  };
}
