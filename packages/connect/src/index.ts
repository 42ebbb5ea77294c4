export { openGuest, openEndpoint, connectDebugger, parseGuestUri, parseEndpointUri } from './open.js';
export type { OpenOptions, OpenGuestOptions, ConnectDebuggerOptions, DebuggerConnection, ParsedUri } from './open.js';
export { createSchemeRegistry } from './registry.js';
export type { SchemeRegistry } from './registry.js';
export { createDefaultRegistry, defaultRegistry } from './schemes.js';
export { createSimGuestScheme } from './sim/sim-scheme.js';
export type { SimGuestSpec } from './sim/sim-scheme.js';
export { simSerialVariant, DEFAULT_SERIAL_BAUD } from './sim/serial-variant.js';
export { simKdrpcVariant } from './sim/kdrpc-variant.js';
export { createSimBackend, describeSim, resolveBuild, simSetup, SIM_BUILD_CHOICES, DEFAULT_SIM_OPTIONS } from './sim/sim-setup.js';
export type { GivenSimTarget, SimOptions } from './sim/sim-setup.js';
export { holdEventsUntilSubscribed } from './hold-events.js';
export { inprocEndpointScheme } from './inproc-endpoint.js';
export type { InprocEndpointSpec } from './inproc-endpoint.js';
export { ConnectErrorCode, badUriError } from './errors.js';
export { splitUri } from './uri/scheme-uri.js';
export { parseIntegerOption, parseByteSize } from './uri/parse-values.js';
export { parseListenUri, parseConnectUri, LISTEN_SCHEMES, CONNECT_SCHEMES } from './uri/line-uris.js';
export type { ListenSpec, ConnectSpec } from './uri/line-uris.js';
export { lineConnectOptions, lineListenOptions, pacingFor } from './uri/line-options.js';
export type { ByteAddress } from './uri/line-options.js';
export { formatSocketAddress, formatDelay, describeLinkNotice } from '@vmkd/byte-links';
export type { SocketAddress } from '@vmkd/byte-links';
export { debuggerCommandsFor } from '@vmkd/dbgeng-pipe';
export type {
  DebuggerCommandLine,
  EndpointSchemeProvider,
  GuestOptionProvider,
  GuestSchemeProvider,
  OpenContext,
  OpenedLink,
  SchemeUri,
  SimFacts,
  SimSetup,
  SimVariantProvider,
} from '@vmkd/kd-protocol';
