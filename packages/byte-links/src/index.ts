export { ByteLinkErrorCode, byteLinkError } from './errors.js';
export type {
  PipeConnectOptions,
  PipeListenOptions,
  SocketConnectOptions,
  SocketListenOptions,
  TcpConnectOptions,
  TcpListenOptions,
  UnixConnectOptions,
  UnixListenOptions,
} from './options.js';
export { linkClosedError, linkDisconnectedError } from './link-errors.js';
export { createSocketByteLink } from './socket-byte-link.js';
export { connectPipeByteLink, connectTcpByteLink, connectUnixByteLink, checkPath, checkPort } from './socket-connect.js';
export { listenTcpByteLinks, isLoopbackHost, formatTcpAddress } from './tcp-listener.js';
export { listenUnixByteLinks } from './unix-listener.js';
export { listenPipeByteLinks } from './pipe-listener.js';
export { toPipePath, pipeUri, assertPipeSupported } from './pipe-path.js';
export { openByteLink, listenByteLinks, describeConnectTarget } from './open-byte-link.js';
export { createPersistentKdcomLink } from './persistent-kdcom-link.js';
export type { BusyPolicy, LinkNotice, PersistentKdcomLink, PersistentKdcomLinkOptions } from './persistent-kdcom-link.js';
export { reconnectingByteLinks$, isPermanentOpenError } from './reconnecting-byte-links.js';
export type { ReconnectOptions } from './reconnecting-byte-links.js';
export { socketAddressOf, formatSocketAddress, connectOptionsFor, listenOptionsFor } from './address.js';
export type { SocketAddress } from './address.js';
export { describeLinkNotice, formatDelay } from './notice-text.js';
