import type { Direction } from './direction.js';

/** Which link of a route an event came from. */
export type RouteSide = 'guest' | 'endpoint';

/** Why a packet never crossed. */
export type DropReason =
  /** The queue was full and this packet was the one refused. */
  | 'rejected'
  /** The queue was full and a more important packet took this (droppable) packet's place. */
  | 'evicted';

/** How a packet came to cross the route. */
export type PacketOrigin =
  /** Received from one link, forwarded to the other. */
  | 'forwarded'
  /** The cached last state change, given again to a (re)connecting debugger. */
  | 'replayed'
  /** Made up by the router: the "target gone" state change, or a failed reply to an orphaned request. */
  | 'synthetic';

/** `{ code, message }` of an error, as it appears in JSONL. */
export interface ErrorRecord {
  readonly code: string;
  readonly message: string;
}

interface Stamped {
  /** Wall-clock time, milliseconds since the Unix epoch (fractional: microsecond resolution). */
  readonly t: number;
}

/**
 * One record of what happened on a route: the live `events$` items and, one per line, the JSONL trace.
 * `kind` discriminates.
 */
export type RouteEvent = Stamped &
  (
    | {
        readonly kind: 'packet';
        readonly dir: Direction;
        readonly origin: PacketOrigin;
        readonly type: number;
        readonly typeName: string;
        /** Payload length in bytes. */
        readonly length: number;
        /** `describeKdPacket(packet)`: the decoded packet. */
        readonly decoded: unknown;
        /**
         * The payload in hex, only with the route's `traceBytes` option. With `type` it is the whole
         * packet: KDCOM ids, checksum and trailer are per hop (spec §5), so a re-emitter frames it anew.
         */
        readonly bytes?: string;
      }
    | {
        readonly kind: 'link';
        readonly side: RouteSide;
        readonly event: 'connect' | 'disconnect' | 'reset' | 'breakin';
        readonly peer?: string;
        readonly error?: ErrorRecord;
      }
    | {
        /** A packet that never crossed: its queue was full. */
        readonly kind: 'dropped';
        readonly dir: Direction;
        readonly reason: DropReason;
        readonly type: number;
        readonly typeName: string;
      }
    | {
        /** The far link refused or timed out a forwarded packet. */
        readonly kind: 'send-failed';
        readonly dir: Direction;
        readonly type: number;
        readonly typeName: string;
        readonly error: ErrorRecord;
      }
    | {
        /** The guest vanished; the debugger was told (synthetic state change) and its request failed. */
        readonly kind: 'target-gone';
        readonly failedRequest: boolean;
      }
    | { readonly kind: 'target-back' }
    | {
        /**
         * A packet the router did not pass on, on purpose: the guest re-sent a stop the debugger
         * already has (`duplicate-stop`), or the debugger broke in to a target that is already
         * stopped (`stopped-breakin`; the debugger gets the stop it asked for instead), or broke in
         * before the guest was there (`breakin-held-for-guest`: sent when the guest connects).
         */
        readonly kind: 'suppressed';
        readonly reason: 'duplicate-stop' | 'stopped-breakin' | 'breakin-held-for-guest';
        readonly dir: Direction;
      }
    | {
        /** `count` notices of one kind (the first recorded in full) within `ms`: the rest of a flood. */
        readonly kind: 'summary';
        readonly side: RouteSide;
        readonly event: 'breakin' | 'reset';
        readonly count: number;
        readonly ms: number;
      }
    | {
        /** A second debugger was turned away; `holder` had the endpoint for `heldMs`. */
        readonly kind: 'debugger-refused';
        readonly peer: string;
        readonly holder?: string;
        readonly heldMs?: number;
      }
    | {
        /** breakIn() or resync() on the guest link failed. */
        readonly kind: 'guest-error';
        readonly operation: 'breakIn' | 'resync';
        readonly error: ErrorRecord;
      }
    | { readonly kind: 'route-closed' }
  );

export type RouteEventKind = RouteEvent['kind'];
