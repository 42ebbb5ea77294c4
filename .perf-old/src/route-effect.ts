import type { KdPacket } from '@vmkd/kd-protocol';
import type { Direction } from './direction.js';
import type { PacketOrigin, RouteEvent } from './route-events.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A record without its wall-clock stamp and, for packets, before decoding (the shell does both). */
export type RouteRecord = DistributiveOmit<Exclude<RouteEvent, { kind: 'packet' }>, 't'>;

/** What the reducer asks the shell to do. The reducer itself never touches a link, a clock or a file. */
export type RouteEffect =
  /** Hand `packet` to the far link of `dir`; report back with `sent` / `send-failed` carrying `seq`. */
  | { readonly kind: 'send'; readonly dir: Direction; readonly seq: number; readonly packet: KdPacket }
  /** Forward the debugger's break-in to the guest now, ahead of any queued packet (spec §5). */
  | { readonly kind: 'guest-breakin' }
  /** RESET the guest link, so a stopped target re-sends its state change (spec §1.6); report `resync-done`. */
  | { readonly kind: 'guest-resync' }
  /** Tell a guest that cares (KDRPC host) whether a debugger is attached (issue 10 item 6). */
  | { readonly kind: 'debugger-present'; readonly present: boolean }
  /** A trace record about a packet: the shell decodes it (only when somebody listens). */
  | { readonly kind: 'packet-record'; readonly dir: Direction; readonly origin: PacketOrigin; readonly packet: KdPacket }
  | { readonly kind: 'record'; readonly record: RouteRecord }
  /** A latency sample for the statistics reservoirs. */
  | { readonly kind: 'latency'; readonly measure: Direction | 'request'; readonly ms: number }
  /** Feed a `timer` input at clock time `at` (the summary of rate-limited notices is due then). */
  | { readonly kind: 'timer'; readonly at: number }
  /** The endpoint ended: close the route. */
  | { readonly kind: 'close' };
