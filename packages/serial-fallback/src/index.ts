export { SerialErrorCode, serialError } from './errors.js';
export type { PacingOptions, SerialDeviceOptions, SerialLineListenOptions, SerialLineOptions } from './options.js';
export type { SerialBinding, SerialBindingPort } from './serial-binding.js';
export { loadNativeSerialBinding } from './serial-binding.js';
export { openSerialByteLink, createSerialPortByteLink } from './serial-device-link.js';
export { createPacedByteLink, checkPacing } from './paced-byte-link.js';
export type { PacedByteLink, PacedByteLinkStats } from './paced-byte-link.js';
export { openSerialLine, listenSerialLines } from './open-serial-line.js';
export { createSerialGuestLink, createSerialTargetLink } from './serial-packet-link.js';
export type {
  SerialConnectLinkOptions,
  SerialListenLinkOptions,
  SerialPacketLink,
  SerialPacketLinkOptions,
} from './serial-packet-link.js';
export { serialTcpGuestScheme, serialUnixGuestScheme, serialPipeGuestScheme, serialDeviceGuestScheme, serialDeviceAddressOf } from './guest-schemes.js';
export type { SerialDeviceAddress, SerialDeviceGuestSpec, SerialSocketGuestSpec } from './guest-schemes.js';
