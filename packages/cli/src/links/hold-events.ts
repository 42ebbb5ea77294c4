import { ReplaySubject } from 'rxjs';
import type { LinkEvent, PacketLink } from '@vmkd/kd-protocol';

/** Events kept for the router while it is not yet subscribed (a connect, a state change, a few prints). */
const HELD_EVENTS = 256;

/**
 * A PacketLink's `events$` is hot, and opening a route takes several awaits (the guest, then the
 * endpoint). Events that arrive meanwhile (the guest's connect and its first state change) would
 * be lost. This view subscribes at once and hands what it held to its one consumer, the router.
 * Bounded: past HELD_EVENTS the oldest are dropped, which only happens if nobody routes the link.
 */
export function holdEvents(link: PacketLink): PacketLink {
  const held = new ReplaySubject<LinkEvent>(HELD_EVENTS);
  link.events$.subscribe(held);
  return {
    get name() {
      return link.name;
    },
    get role() {
      return link.role;
    },
    get connected() {
      return link.connected;
    },
    events$: held.asObservable(),
    send: (packet) => link.send(packet),
    breakIn: () => link.breakIn(),
    resync: () => link.resync(),
    stats: () => link.stats(),
    close: () => link.close(),
  };
}
