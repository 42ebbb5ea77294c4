export * from './errors.js';
export type * from './options.js';
export type * from './serial-binding.js';
export { loadNativeSerialBinding } from './serial-binding.js';
export { createSocketByteLink } from './socket-byte-link.js';
export { connectPipeByteLink, connectTcpByteLink, connectUnixByteLink } from './socket-connect.js';
export { listenTcpByteLinks, isLoopbackHost } from './tcp-listener.js';
export { listenUnixByteLinks } from './unix-listener.js';
export { listenPipeByteLinks } from './pipe-listener.js';
export { toPipePath, pipeUri } from './pipe-path.js';
export { openSerialByteLink, createSerialPortByteLink } from './serial-device-link.js';
export { createPacedByteLink, checkPacing } from './paced-byte-link.js';
export type { PacedByteLink, PacedByteLinkStats } from './paced-byte-link.js';
export { openByteLink, listenByteLinks } from './open-byte-link.js';
export { createPersistentKdcomLink } from './persistent-kdcom-link.js';
export type { BusyPolicy, LinkNotice, PersistentKdcomLink, PersistentKdcomLinkOptions } from './persistent-kdcom-link.js';
export { reconnectingByteLinks$ } from './reconnecting-byte-links.js';
export type { ReconnectOptions } from './reconnecting-byte-links.js';
export { createSerialGuestLink, createSerialTargetLink } from './serial-packet-link.js';
export type {
  SerialConnectLinkOptions,
  SerialListenLinkOptions,
  SerialPacketLink,
  SerialPacketLinkOptions,
} from './serial-packet-link.js';
