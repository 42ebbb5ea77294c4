interface CommonConnectOptions {
  /** Give up a single connection attempt after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
}

/** A TCP client: QEMU `-serial tcp::5555,server`, VirtualBox "TCP server" mode, a debugger endpoint. */
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

/** Everything openByteLink() can open. */
export type SocketConnectOptions = TcpConnectOptions | UnixConnectOptions | PipeConnectOptions;

/** A TCP server; binds loopback unless `allowRemote` says otherwise in so many words. */
export interface TcpListenOptions {
  kind: 'tcp';
  /** Default `127.0.0.1`. A non-loopback address (or `0.0.0.0`, `::`) needs `allowRemote: true`. */
  host?: string;
  /** 0 picks a free port; read it back from `listener.address`. */
  port: number;
  allowRemote?: boolean;
}

/** A Unix-socket server, created owner-only (0600); a stale socket file left by a dead server is replaced. */
export interface UnixListenOptions {
  kind: 'unix';
  path: string;
  /** File mode of the socket. Default 0o600. */
  mode?: number;
}

/** A Windows named-pipe server (byte mode, as WinDbg's `com:pipe` and VM serial ports expect). */
export interface PipeListenOptions {
  kind: 'pipe';
  /** `\\.\pipe\kd_win10`, `//./pipe/kd_win10` or just `kd_win10`. */
  path: string;
}

/** Everything listenByteLinks() can serve. */
export type SocketListenOptions = TcpListenOptions | UnixListenOptions | PipeListenOptions;
