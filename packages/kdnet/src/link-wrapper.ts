import type { Observable } from 'rxjs';
import type { KdPacket, LinkEvent, PacketLink } from '@vmkd/kd-protocol';
import type { UdpAddress } from './control.js';
import type { KdnetCounters } from './session-state.js';

/** The KDNET link's shape (kdnet-link.ts `KdnetLink`), named here so its wrappers do not import the link. */
export interface KdnetLinkShape extends PacketLink {
  readonly local: UdpAddress;
  kdnetStats(): KdnetCounters;
}

/**
 * `link` with its events and/or its send replaced (the endpoint's read cap, the guest's write
 * splitter); everything else passes straight through.
 */
export function wrapKdnetLink(
  link: KdnetLinkShape,
  replace: { readonly events$?: Observable<LinkEvent>; readonly send?: (packet: KdPacket) => Promise<void> },
): KdnetLinkShape {
  return {
    name: link.name,
    role: link.role,
    local: link.local,
    events$: replace.events$ ?? link.events$,
    get connected() {
      return link.connected;
    },
    send: replace.send ?? ((packet) => link.send(packet)),
    breakIn: () => link.breakIn(),
    resync: () => link.resync(),
    stats: () => link.stats(),
    kdnetStats: () => link.kdnetStats(),
    close: () => link.close(),
  };
}
