import type { PipeConnectOptions, SocketListenOptions, TcpConnectOptions, UnixConnectOptions } from '@vmkd/byte-links';
import type { SerialBinding } from './serial-binding.js';

/** UART pacing: make a fast byte link behave like a real serial line (see createPacedByteLink). */
export interface PacingOptions {
  /** Line rate in bit/s, e.g. 115200. */
  baud: number;
  /** Bits on the wire per byte: 10 for 8N1 (start + 8 data + stop), 11 for 8E1 or 8N2. Default 10. */
  bitsPerByte?: number;
  /** Most bytes held in each direction before writes wait (outbound) or bytes overrun (inbound). Default 1 MiB. */
  maxBufferedBytes?: number;
}

interface Paced {
  /** Wrap the link in UART pacing. */
  pace?: PacingOptions;
}

/** A serial device or pty opened through `serialport`: `/dev/ttyS0`, `/dev/pts/3`, `COM3`. */
export interface SerialDeviceOptions extends Paced {
  kind: 'serial';
  path: string;
  /** Device line rate. Default 115200. A real UART paces itself; a pty ignores it (use `pace`). */
  baudRate?: number;
  /** The serialport binding; defaults to serialport's native binding, loaded on first use. */
  binding?: SerialBinding;
  /** Accepted for symmetry with sockets; a device opens at once or not at all. */
  connectTimeoutMs?: number;
}

/** Everything a serial line can be, client side: a VM's serial port as a socket or pipe, or a device. */
export type SerialLineOptions = ((TcpConnectOptions | UnixConnectOptions | PipeConnectOptions) & Paced) | SerialDeviceOptions;

/** A serial line served by us (the VM connects): a socket or pipe listener, optionally paced. */
export type SerialLineListenOptions = SocketListenOptions & Paced;
