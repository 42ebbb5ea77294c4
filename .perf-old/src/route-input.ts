import type { KdPacket } from '@vmkd/kd-protocol';
import type { Direction } from './direction.js';
import type { ErrorRecord, RouteSide } from './route-events.js';

/** A link event other than a packet, as the reducer sees it. */
export type LinkHappening = 'connect' | 'disconnect' | 'reset' | 'breakin';

/**
 * Everything that can happen to a route: what the links report, what became of the effects the
 * shell performed, and the clock. `at` is the route clock's `now()` (monotonic milliseconds); the
 * reducer reads time only from here, so a test drives it in virtual time.
 */
export type RouteInput =
  | { readonly kind: 'packet'; readonly side: RouteSide; readonly packet: KdPacket; readonly at: number }
  | { readonly kind: 'link'; readonly side: RouteSide; readonly event: LinkHappening; readonly peer?: string; readonly error?: ErrorRecord; readonly at: number }
  /** The link's `events$` completed or failed: that side is gone for good. */
  | { readonly kind: 'ended'; readonly side: RouteSide; readonly at: number }
  /** The endpoint turned away a second debugger (issue 16 item 7). */
  | { readonly kind: 'refused'; readonly peer: string; readonly at: number }
  /** The far link accepted the packet a `send` effect handed it. */
  | { readonly kind: 'sent'; readonly dir: Direction; readonly seq: number; readonly at: number }
  /** The far link refused or timed out that packet; `targetGone` when the guest had vanished. */
  | { readonly kind: 'send-failed'; readonly dir: Direction; readonly seq: number; readonly error: ErrorRecord; readonly at: number }
  | { readonly kind: 'guest-op-failed'; readonly operation: 'breakIn' | 'resync'; readonly error: ErrorRecord; readonly at: number }
  | { readonly kind: 'resync-done'; readonly at: number }
  /** A `timer` effect came due. */
  | { readonly kind: 'timer'; readonly at: number };
