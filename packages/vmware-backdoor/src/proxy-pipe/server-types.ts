import type { KdrpcHost } from '../kdrpc/host.js';

export interface KdrpcProxyPipeServerOptions {
  /** A Unix socket path, or a Windows pipe path (`\\.\pipe\kdvmware_proxypipe`). */
  readonly path: string;
  /** The dispatcher: each request body goes to `host.handleRequest`. */
  readonly host: Pick<KdrpcHost, 'handleRequest' | 'guestGone'>;
  /** After the last forwarder connection closes, how long without a new transaction means the guest is gone. Default 1000 ms. */
  readonly goneAfterMs?: number;
  /**
   * Told about input that was thrown away (a frame length past the limit drops the connection), so
   * garbage on the socket is logged and counted instead of vanishing.
   */
  readonly onDropped?: (event: ProxyPipeDropped) => void;
}

/** Input the server threw away. */
export interface ProxyPipeDropped {
  /**
   * `frame-too-large`: a length prefix past the limit (stream transports); `message-too-large`: a
   * pipe message past it (Windows message mode); `io-error`: a Win32 pipe call failed (the
   * server backs off and listens again).
   */
  readonly reason: 'frame-too-large' | 'message-too-large' | 'io-error';
  /** The bytes the length field claimed, and the limit. */
  readonly length?: number;
  readonly limit: number;
  /** Broken frames so far, this one included. */
  readonly brokenFrames: number;
  /** The Win32 error, for `io-error`. */
  readonly win32Error?: number;
}

export interface KdrpcProxyPipeServer {
  readonly path: string;
  /** Transactions served and refused so far. */
  stats(): { transactions: number; rejected: number; connections: number; brokenFrames: number };
  /** Stops listening, drops connections, and reports the guest gone. */
  close(): Promise<void>;
}
