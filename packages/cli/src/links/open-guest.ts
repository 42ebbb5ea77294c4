import { map } from 'rxjs';
import { createSerialGuestLink, type LinkNotice, type SerialPacketLinkOptions } from '@vmkd/serial-fallback';
import type { GuestSpec } from '../uri/transport-uri.js';
import { connectOptionsFor, listenOptionsFor, pacingFor } from './byte-link-options.js';
import { holdEvents } from './hold-events.js';
import type { OpenedGuest } from './opened-guest.js';
import { openKdrpcProxyGuest, openSimKdrpcGuest, openSimKdrpcNativeGuest } from './kdrpc-guests.js';
import { openSimSerialGuest } from './sim-guest.js';

export interface OpenGuestOptions {
  /** A TCP guest listener (`?mode=listen`) on a non-loopback host needs this, in so many words. */
  readonly allowRemote?: boolean;
}

function noticeText(notice: LinkNotice): string {
  switch (notice.kind) {
    case 'refused':
      return `guest connection from ${notice.peer} refused: ${notice.reason}`;
    case 'replaced':
      return `guest connection ${notice.by} replaces ${notice.peer}`;
    case 'connect-failed':
      return `guest not reachable (${notice.error.message}); retrying in ${(notice.retryInMs / 1000).toFixed(1)} s`;
  }
}

/** Opens the guest transport a URI names, as a target-facing PacketLink for the router. */
export async function openGuest(spec: GuestSpec, options: OpenGuestOptions = {}): Promise<OpenedGuest> {
  switch (spec.kind) {
    case 'serial':
    case 'serial-device': {
      const linkOptions: SerialPacketLinkOptions =
        spec.kind === 'serial' && spec.mode === 'listen'
          ? { listen: listenOptionsFor(spec.address, { allowRemote: options.allowRemote === true, ...(spec.pace > 0 ? { pace: { baud: spec.pace } } : {}) }) }
          : { connect: connectOptionsFor(spec.address, spec.kind === 'serial' ? pacingFor(spec.pace) : undefined) };
      const serial = await createSerialGuestLink(linkOptions);
      const link = holdEvents(serial);
      const where = spec.kind === 'serial' && spec.mode === 'listen' ? `waiting for the VM on ${serial.address}` : serial.address;
      return {
        link,
        description: `serial line (KDCOM) ${where}`,
        notices$: serial.notices$.pipe(map(noticeText)),
        close: () => link.close(),
      };
    }
    case 'sim':
      if (spec.via === 'serial') return openSimSerialGuest(spec.sim, spec.baud);
      return spec.backdoor === 'native' ? openSimKdrpcNativeGuest(spec.sim) : openSimKdrpcGuest(spec.sim);
    case 'kdrpc-proxy':
      return openKdrpcProxyGuest(spec.address);
  }
}
