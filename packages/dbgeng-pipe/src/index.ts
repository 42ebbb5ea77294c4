export { createDebuggerEndpoint } from './debugger-endpoint.js';
export type { DebuggerEndpoint, DebuggerEndpointOptions } from './debugger-endpoint.js';
export { debuggerCommandFor } from './debugger-command.js';
