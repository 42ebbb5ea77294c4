export { runCli } from './program.js';
export type { CliIo, CliStream } from './output/cli-io.js';
export { createProcessIo } from './output/cli-io.js';
export { CliErrorCode, exitCodeFor } from './errors.js';
export * from './uri/transport-uri.js';
export {
  parseGuestUri,
  parseEndpointUri,
  parseListenUri,
  parseConnectUri,
  formatSocketAddress,
  GUEST_SCHEMES,
  ENDPOINT_SCHEMES,
  LISTEN_SCHEMES,
  CONNECT_SCHEMES,
} from './uri/parse-transport-uri.js';
export { debuggerCommandsFor, type DebuggerCommand } from './uri/debugger-commands.js';
export { connectDebugger, type DebuggerConnection } from './links/connect-debugger.js';
export { diagnose, type DoctorReport, type DoctorCheck, type SchemeSupport } from './commands/doctor.js';
