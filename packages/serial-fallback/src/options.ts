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

interface CommonConnectOptions {
  /** Give up a single connection attempt after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Wrap the link in UART pacing. */
  pace?: PacingOptions;
}

/** A TCP client: QEMU `-serial tcp::5555,server`, VirtualBox "TCP server" mode, a serial-over-LAN box. */
export interface TcpConnectOptions extends CommonConnectOptions {
  kind: 'tcp';
  /** Default `127.0.0.1`. */
  host?: string;
  port: number;
}

/** A Unix-socket client: QEMU `-serial unix:com1.sock,server`, VirtualBox host pipe on Linux/macOS. */
export interface UnixConnectOptions extends CommonConnectOptions {
  kind: 'unix';
  path: string;
}

/** A Windows named-pipe client: VMware/Hyper-V/VirtualBox serial port as a pipe the VM serves. */
export interface PipeConnectOptions extends CommonConnectOptions {
  kind: 'pipe';
  /** `\\.\pipe\com_1`, `//./pipe/com_1` or just `com_1`. */
  path: string;
}

/** A serial device or pty opened through `serialport`: `/dev/ttyS0`, `/dev/pts/3`, `COM3`. */
export interface SerialDeviceOptions extends CommonConnectOptions {
  kind: 'serial';
  path: string;
  /** Device line rate. Default 115200. A real UART paces itself; a pty ignores it (use `pace`). */
  baudRate?: number;
  /** The serialport binding; defaults to serialport's native binding, loaded on first use. */
  binding?: SerialBinding;
}

/** Everything openByteLink() can open. */
export type ByteLinkOptions = TcpConnectOptions | UnixConnectOptions | PipeConnectOptions | SerialDeviceOptions;

interface CommonListenOptions {
  /** Wrap every accepted link in UART pacing. */
  pace?: PacingOptions;
}

/** A TCP server; binds loopback unless `allowRemote` says otherwise in so many words. */
export interface TcpListenOptions extends CommonListenOptions {
  kind: 'tcp';
  /** Default `127.0.0.1`. A non-loopback address (or `0.0.0.0`, `::`) needs `allowRemote: true`. */
  host?: string;
  /** 0 picks a free port; read it back from `listener.address`. */
  port: number;
  allowRemote?: boolean;
}

/** A Unix-socket server, created owner-only (0600); a stale socket file left by a dead server is replaced. */
export interface UnixListenOptions extends CommonListenOptions {
  kind: 'unix';
  path: string;
  /** File mode of the socket. Default 0o600. */
  mode?: number;
}

/** A Windows named-pipe server (byte mode, as WinDbg's `com:pipe` and VM serial ports expect). */
export interface PipeListenOptions extends CommonListenOptions {
  kind: 'pipe';
  /** `\\.\pipe\kd_win10`, `//./pipe/kd_win10` or just `kd_win10`. */
  path: string;
}

/** Everything listenByteLinks() can serve. */
export type ByteLinkListenerOptions = TcpListenOptions | UnixListenOptions | PipeListenOptions;
