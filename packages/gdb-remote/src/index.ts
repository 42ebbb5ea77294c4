export { createGdbEndpoint, isLoopbackHost } from './gdb-endpoint.js';
export type { GdbEndpoint, GdbEndpointNotice, GdbEndpointOptions } from './gdb-endpoint.js';
export { gdbConnectionHints } from './connection-hints.js';
export type { GdbConnectionHints } from './connection-hints.js';
export { GdbRemoteErrorCode } from './errors.js';
export { listenTcp } from './tcp-listener.js';
export type { ListenStreams, StreamConnection, StreamListener } from './tcp-listener.js';
export type { ByteStream, RspConnectionCounters } from './rsp/rsp-connection.js';
export { TARGET_XML } from './registers/target-xml.js';
