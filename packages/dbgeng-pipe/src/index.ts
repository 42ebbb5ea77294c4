export { createDebuggerEndpoint } from './debugger-endpoint.js';
export type { DebuggerEndpoint, DebuggerEndpointOptions } from './debugger-endpoint.js';
export { debuggerCommandFor, debuggerCommandsFor } from './debugger-command.js';
export type { DebuggerCommand } from './debugger-command.js';
export { pipeEndpointScheme, tcpEndpointScheme, unixEndpointScheme } from './endpoint-schemes.js';
export type { KdcomEndpointSpec } from './endpoint-schemes.js';
