import { VmkdError } from '@vmkd/kd-protocol';

/**
 * Codes `connect` raises. The strings are the ones the CLI used before the grammar moved here
 * (scripts match on them; the CLI maps a bad URI to exit status 2).
 */
export const ConnectErrorCode = {
  /** A URI that does not parse: unknown scheme, bad host/port/path, bad query. */
  BadUri: 'ERR_CLI_BAD_URI',
  /** The URI is valid but its transport cannot run on this operating system. */
  UnsupportedPlatform: 'ERR_CLI_UNSUPPORTED_PLATFORM',
  /** A provider registered twice for one scheme, `via=` value or option key. */
  DuplicateScheme: 'ERR_CONNECT_DUPLICATE_SCHEME',
  /** A child process a guest runs in (a target in its own process) did not come up. */
  ChildFailed: 'ERR_CONNECT_CHILD_FAILED',
  /** … or not within its start time. */
  ChildTimeout: 'ERR_CONNECT_CHILD_TIMEOUT',
  /** The endpoint's protocol has no client vmkd's debugger could use (`connectDebugger`). */
  NoDebuggerClient: 'ERR_CONNECT_NO_DEBUGGER_CLIENT',
} as const;

export function badUriError(uri: string, reason: string): VmkdError {
  return new VmkdError(ConnectErrorCode.BadUri, `bad URI "${uri}": ${reason}`, { details: { uri, reason } });
}
