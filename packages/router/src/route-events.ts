import type { Direction } from './direction.js';
import type { DropReason } from './bounded-concat-map.js';

/** Which link of a route an event came from. */
export type RouteSide = 'guest' | 'endpoint';

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
        /** breakIn() or resync() on the guest link failed. */
        readonly kind: 'guest-error';
        readonly operation: 'breakIn' | 'resync';
        readonly error: ErrorRecord;
      }
    | { readonly kind: 'route-closed' }
  );

export type RouteEventKind = RouteEvent['kind'];
