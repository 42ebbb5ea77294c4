import type { ByteLink, ByteLinkListener } from '@vmkd/kd-protocol';
import { listenByteLinks, openByteLink } from '@vmkd/byte-links';
import { map } from 'rxjs';
import { checkPacing, createPacedByteLink } from './paced-byte-link.js';
import { openSerialByteLink } from './serial-device-link.js';
import type { SerialLineListenOptions, SerialLineOptions, PacingOptions } from './options.js';

function paced(link: ByteLink, pace: PacingOptions | undefined): ByteLink {
  return pace === undefined ? link : createPacedByteLink(link, pace);
}

/**
 * Open one serial line (client side): a socket or pipe through `@vmkd/byte-links`, or a serial
 * device or pty; paced like a UART if `pace` is given.
 */
export async function openSerialLine(options: SerialLineOptions): Promise<ByteLink> {
  if (options.pace !== undefined) checkPacing(options.pace);
  const link = options.kind === 'serial' ? await openSerialByteLink(options) : await openByteLink(options);
  return paced(link, options.pace);
}

/** Serve serial lines (the VM connects to us); every accepted link is paced if `pace` is given. */
export async function listenSerialLines(options: SerialLineListenOptions): Promise<ByteLinkListener> {
  if (options.pace !== undefined) checkPacing(options.pace);
  const listener = await listenByteLinks(options);
  const pace = options.pace;
  if (pace === undefined) return listener;
  return {
    address: listener.address,
    connections$: listener.connections$.pipe(map((link) => paced(link, pace))),
    close: () => listener.close(),
  };
}
