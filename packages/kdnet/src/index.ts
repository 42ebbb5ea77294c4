export { KdnetErrorCode, type DropReason } from './errors.js';
export { parseKdnetKey, isKdnetKey, randomKdnetKeyText, type KdnetKeys } from './key.js';
export {
  KDNET_MAGIC,
  KDNET_HEADER_SIZE,
  KDNET_HMAC_SIZE,
  KDNET_MAX_DATAGRAM,
  KdnetChannel,
  KdnetDirection,
  encodeDatagram,
  decodeDatagram,
  datagramSize,
  paddingFor,
  type KdnetDatagram,
  type DecodeResult,
} from './datagram.js';
export {
  POKE_BODY_SIZE,
  RESPONSE_BODY_SIZE,
  decodePoke,
  encodePoke,
  encodeResponse,
  decodeResponse,
  deriveDataKey,
  type Poke,
  type PokeResponse,
  type UdpAddress,
} from './control.js';
export { parseKdFrame, encodeKdData, encodeKdControl, encodeConnCheck, CONNCHECK_SIZE, type KdFrame } from './kd-frame.js';
export { reduceKdnet } from './reduce-kdnet.js';
export {
  initialKdnetState,
  HOST_FIRST_ID,
  TARGET_FIRST_ID,
  type KdnetRole,
  type KdnetConfig,
  type KdnetState,
  type KdnetEvent,
  type KdnetEffect,
  type KdnetStep,
  type KdnetCounters,
} from './session-state.js';
export { openUdpPort, isLoopback, type UdpPort, type OpenUdpOptions } from './udp-socket.js';
export {
  createKdnetGuestLink,
  createKdnetEndpointLink,
  type KdnetLink,
  type KdnetLinkOptions,
  type KdnetGuestOptions,
  type KdnetEndpointOptions,
  type DatagramTap,
} from './kdnet-link.js';
export { KDNET_ENDPOINT_MAX_REPLY, capReadRequest, capReads } from './read-cap.js';
export { KDNET_FRAME_KD_PAYLOAD, splitIncoming, splitLargeWrites, splitOutgoing, type ActiveSplit, type SplitEffect, type SplitStep } from './write-splitter.js';
export { openTargetOverKdnet, type TargetOverKdnet, type TargetOverKdnetOptions } from './target-over-kdnet.js';
export {
  kdnetGuestScheme,
  kdnetEndpointScheme,
  kdnetSimVariant,
  KDNET_DEFAULT_PORT,
  type KdnetGuestSpec,
  type KdnetEndpointSpec,
} from './schemes.js';
