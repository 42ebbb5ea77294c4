import { Subject } from 'rxjs';
import type { ByteLink, KdcomLinkOptions, LinkRole } from '@vmkd/kd-protocol';
import {
  createPersistentKdcomLink,
  describeConnectTarget,
  isPermanentOpenError,
  reconnectingByteLinks$,
  type BusyPolicy,
  type LinkNotice,
  type PersistentKdcomLink,
  type ReconnectOptions,
} from '@vmkd/byte-links';
import { SerialErrorCode, serialError } from './errors.js';
import { listenSerialLines, openSerialLine } from './open-serial-line.js';
import { checkPacing } from './paced-byte-link.js';
import type { SerialLineListenOptions, SerialLineOptions } from './options.js';

interface CommonSerialLinkOptions {
  /** Link name for logs and stats. Default: the address. */
  name?: string;
  /** Per-connection KDCOM options (timeouts, retries). */
  kdcom?: Omit<KdcomLinkOptions, 'role' | 'name'>;
  /** How long a send waits while no peer is attached. Default 30 000 ms. */
  waitForPeerMs?: number;
}

/** We connect to the serial line (a VM's socket or pipe server, a device); reconnect when it drops. */
export interface SerialConnectLinkOptions extends CommonSerialLinkOptions {
  connect: SerialLineOptions;
  /** Backoff for reconnecting, or `false` to stay disconnected after the first drop. */
  reconnect?: ReconnectOptions | false;
}

/** The peer connects to us (a VM configured as the client end, a debugger); one at a time. */
export interface SerialListenLinkOptions extends CommonSerialLinkOptions {
  listen: SerialLineListenOptions;
  /** What a second concurrent connection gets. Default `refuse`. */
  whenBusy?: BusyPolicy;
}

export type SerialPacketLinkOptions = SerialConnectLinkOptions | SerialListenLinkOptions;

export interface SerialPacketLink extends PersistentKdcomLink {
  /** Where the line is: the address we connect to, or the one we listen on. */
  readonly address: string;
}

function describeTarget(options: SerialLineOptions): string {
  return options.kind === 'serial' ? `serial:${options.path}` : describeConnectTarget(options);
}

async function createSerialPacketLink(role: LinkRole, options: SerialPacketLinkOptions): Promise<SerialPacketLink> {
  if ('listen' in options) {
    const listener = await listenSerialLines(options.listen);
    const link = createPersistentKdcomLink({
      name: options.name ?? listener.address,
      role,
      byteLinks$: listener.connections$,
      whenBusy: options.whenBusy ?? 'refuse',
      ...(options.kdcom === undefined ? {} : { kdcom: options.kdcom }),
      ...(options.waitForPeerMs === undefined ? {} : { waitForPeerMs: options.waitForPeerMs }),
      onClose: () => listener.close(),
    });
    return Object.assign(link, { address: listener.address });
  }
  if (!('connect' in options)) {
    throw serialError(SerialErrorCode.BadOptions, 'serial link options need `connect` or `listen`');
  }
  if (options.connect.pace !== undefined) checkPacing(options.connect.pace);
  const address = describeTarget(options.connect);
  const open = (): Promise<ByteLink> => openSerialLine(options.connect);
  // The first attempt happens now so that options no retry can fix fail the call; a target that
  // is merely not up yet is retried in the background.
  let first: ByteLink | undefined;
  try {
    first = await open();
  } catch (error) {
    if (isPermanentOpenError(error) || options.reconnect === false) throw error;
  }
  const reconnect = options.reconnect === false ? {} : (options.reconnect ?? {});
  const notices = new Subject<LinkNotice>();
  const source$ = reconnectingByteLinks$(open, reconnect, (notice) => notices.next(notice), {
    ...(first === undefined ? { delayMs: reconnect.initialDelayMs ?? 250 } : { first }),
    once: options.reconnect === false,
  });
  // A real UART (a serial device, or a socket paced to a baud rate) keeps KDCOM's legacy fixed
  // timeouts: a frame takes long to transmit there, and an adaptive timeout measured on short
  // frames would retransmit long ones while they are still on the line.
  const uart = options.connect.kind === 'serial' || options.connect.pace !== undefined;
  const kdcom = uart ? { retransmit: 'fixed' as const, ...options.kdcom } : options.kdcom;
  const link = createPersistentKdcomLink({
    name: options.name ?? address,
    role,
    byteLinks$: source$,
    notices$: notices,
    ...(kdcom === undefined ? {} : { kdcom }),
    ...(options.waitForPeerMs === undefined ? {} : { waitForPeerMs: options.waitForPeerMs }),
  });
  return Object.assign(link, { address });
}

/**
 * The guest transport over a serial line: we play the debugger toward a guest's serial port
 * (KDCOM, `target-facing`). With `connect`, a dropped connection (VM restart) is reported as
 * `disconnect` and retried with backoff until it comes back (`connect`).
 */
export function createSerialGuestLink(options: SerialPacketLinkOptions): Promise<SerialPacketLink> {
  return createSerialPacketLink('target-facing', options);
}

/**
 * The reverse: we play the target behind a "serial port" (KDCOM, `debugger-facing`), so a virtual
 * kernel can be reached the way a VM's serial port is (`vmkd sim --listen`).
 */
export function createSerialTargetLink(options: SerialPacketLinkOptions): Promise<SerialPacketLink> {
  return createSerialPacketLink('debugger-facing', options);
}
