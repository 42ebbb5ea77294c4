import type { SocketAddress } from '@vmkd/byte-links';
import type { PacingOptions, SerialDeviceAddress, SerialLineListenOptions, SerialLineOptions } from '@vmkd/serial-fallback';

/** A byte stream to open as a client: a socket or pipe, or a serial device. */
export type ByteAddress = SocketAddress | SerialDeviceAddress;

/** UART pacing for a line rate, or none for 0. */
export function pacingFor(baud: number): PacingOptions | undefined {
  return baud > 0 ? { baud } : undefined;
}

/** serial-fallback client options for a parsed address (a socket to connect to, or a device to open). */
export function lineConnectOptions(address: ByteAddress, pace?: PacingOptions): SerialLineOptions {
  const extra = pace === undefined ? {} : { pace };
  switch (address.kind) {
    case 'tcp':
      return { kind: 'tcp', host: address.host, port: address.port, ...extra };
    case 'unix':
      return { kind: 'unix', path: address.path, ...extra };
    case 'pipe':
      return { kind: 'pipe', path: address.path, ...extra };
    case 'serial':
      return { kind: 'serial', path: address.path, baudRate: address.baud, ...extra };
  }
}

/** serial-fallback listener options. TCP binds exactly the host written; a non-loopback host needs `allowRemote`. */
export function lineListenOptions(address: SocketAddress, options: { allowRemote?: boolean; pace?: PacingOptions } = {}): SerialLineListenOptions {
  const extra = options.pace === undefined ? {} : { pace: options.pace };
  switch (address.kind) {
    case 'tcp':
      return { kind: 'tcp', host: address.host, port: address.port, allowRemote: options.allowRemote === true, ...extra };
    case 'unix':
      return { kind: 'unix', path: address.path, ...extra };
    case 'pipe':
      return { kind: 'pipe', path: address.path, ...extra };
  }
}
