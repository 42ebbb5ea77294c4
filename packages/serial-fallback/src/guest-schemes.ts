import { map } from 'rxjs';
import type { GuestSchemeProvider, OpenContext, OpenedLink, SchemeUri } from '@vmkd/kd-protocol';
import { connectOptionsFor, describeLinkNotice, listenOptionsFor, socketAddressOf, type SocketAddress } from '@vmkd/byte-links';
import { createSerialGuestLink } from './serial-packet-link.js';
import type { SerialPacketLinkOptions } from './serial-packet-link.js';

const DEFAULT_DEVICE_BAUD = 115_200;
const MAX_BAUD = 10_000_000;

/** A VM's serial port exposed as a socket or pipe (KDCOM bytes); vmkd plays the debugger. */
export interface SerialSocketGuestSpec {
  readonly kind: 'serial';
  readonly uri: string;
  readonly address: SocketAddress;
  /** `connect`: the VM listens (QEMU `server`, VirtualBox `tcpserver`); `listen`: the VM connects to us. */
  readonly mode: 'connect' | 'listen';
  /** Emulate a UART at this many bit/s on our side (0 = no pacing; a VM already paces its own port). */
  readonly pace: number;
}

/** A serial device (pty, `/dev/ttyS0`, `COM1`) opened through `serialport`. */
export interface SerialDeviceAddress {
  readonly kind: 'serial';
  readonly path: string;
  /** Line speed the device is opened with. */
  readonly baud: number;
}

/** A real or pseudo serial device. */
export interface SerialDeviceGuestSpec {
  readonly kind: 'serial-device';
  readonly uri: string;
  readonly address: SerialDeviceAddress;
}

/** `serial:///dev/ttyS0?baud=N` or `serial:COM1`: the device part, shared with `vmkd sim --connect`. */
export function serialDeviceAddressOf(uri: SchemeUri): SerialDeviceAddress {
  const { url } = uri;
  if (url.host !== '') throw uri.bad('write serial:///dev/ttyS0 (three slashes) or serial:COM1');
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw uri.bad('bad percent-encoding in the path');
  }
  if (path === '' || path === '/') throw uri.bad('a device path is required, e.g. serial:///dev/ttyS0');
  return { kind: 'serial', path, baud: uri.integer('baud', DEFAULT_DEVICE_BAUD, 50, MAX_BAUD) };
}

function socketGuest(kind: SocketAddress['kind'], summary: string, example: string, platforms?: readonly string[]): GuestSchemeProvider<SerialSocketGuestSpec> {
  return {
    scheme: `serial+${kind}`,
    summary,
    example,
    ...(platforms === undefined ? {} : { platforms }),
    parse(uri) {
      uri.keys(['mode', 'pace']);
      const mode = uri.choice('mode', ['connect', 'listen'] as const, 'connect');
      const address = socketAddressOf(uri, kind, mode === 'listen');
      const pace = uri.integer('pace', 0, 0, MAX_BAUD);
      return { kind: 'serial', uri: uri.text, address, mode, pace };
    },
    open: (spec, context) => openSerialGuest(spec, context),
  };
}

async function openSerialGuest(spec: SerialSocketGuestSpec | SerialDeviceGuestSpec, context: OpenContext): Promise<OpenedLink> {
  let options: SerialPacketLinkOptions;
  if (spec.kind === 'serial-device') {
    options = { connect: { kind: 'serial', path: spec.address.path, baudRate: spec.address.baud } };
  } else {
    const pace = spec.pace > 0 ? { pace: { baud: spec.pace } } : {};
    options =
      spec.mode === 'listen'
        ? { listen: { ...listenOptionsFor(spec.address, { allowRemote: context.allowRemote }), ...pace } }
        : { connect: { ...connectOptionsFor(spec.address), ...pace } };
  }
  const link = await createSerialGuestLink(options);
  const where = spec.kind === 'serial' && spec.mode === 'listen' ? `waiting for the VM on ${link.address}` : link.address;
  return {
    link,
    description: `serial line (KDCOM) ${where}`,
    address: link.address,
    notices$: link.notices$.pipe(map((notice) => describeLinkNotice(notice, 'guest'))),
    close: () => link.close(),
  };
}

/** `serial+tcp://HOST:PORT[?mode=listen&pace=BAUD]`. */
export const serialTcpGuestScheme = socketGuest(
  'tcp',
  'a VM serial port served on TCP (QEMU server=on, VirtualBox tcpserver)',
  'serial+tcp://127.0.0.1:5555',
);
/** `serial+unix:PATH[?mode=listen&pace=BAUD]`. */
export const serialUnixGuestScheme = socketGuest('unix', '… on a Unix socket (relative or absolute path)', 'serial+unix:com1.sock', ['linux', 'darwin', 'freebsd', 'openbsd', 'sunos', 'aix']);
/** `serial+pipe://./pipe/NAME[?mode=listen&pace=BAUD]`. */
export const serialPipeGuestScheme = socketGuest('pipe', '… on a Windows named pipe (VMware, Hyper-V, VirtualBox)', 'serial+pipe://./pipe/com_1', ['win32']);

/** `serial:///dev/ttyS0?baud=N`: a serial or pty device. */
export const serialDeviceGuestScheme: GuestSchemeProvider<SerialDeviceGuestSpec> = {
  scheme: 'serial',
  summary: 'a serial or pty device',
  example: 'serial:///dev/ttyS0?baud=115200',
  parse(uri) {
    uri.keys(['baud']);
    return { kind: 'serial-device', uri: uri.text, address: serialDeviceAddressOf(uri) };
  },
  open: (spec, context) => openSerialGuest(spec, context),
};
