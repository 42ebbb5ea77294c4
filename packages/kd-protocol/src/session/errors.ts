import { VmkdError } from '../errors.js';

/** Error codes of DebuggerSession and TargetSession. Stable once released. */
export const KdSessionErrorCode = {
  /** No reply (or state change) within the call's timeout (details: api, timeoutMs). */
  Timeout: 'ERR_KD_SESSION_TIMEOUT',
  /** The target went away (link disconnect or its events ended) while the call was pending. */
  Disconnected: 'ERR_KD_SESSION_DISCONNECTED',
  /** The target vanished under a pending call and a router answered for it (status 0xC0000037). */
  TargetGone: 'ERR_KD_TARGET_GONE',
  /** The session was closed locally; pending calls are canceled. */
  Closed: 'ERR_KD_SESSION_CLOSED',
  /** The call needs a stopped target, but it is running (or not attached yet). */
  NotStopped: 'ERR_KD_SESSION_NOT_STOPPED',
  /** The target answered with a failure NTSTATUS (details: api, status). */
  Status: 'ERR_KD_SESSION_STATUS',
  /** The reply could not be decoded or does not fit the request (details: api, field). */
  BadReply: 'ERR_KD_SESSION_BAD_REPLY',
  /** The link's role does not fit the session (a DebuggerSession needs a target-facing link). */
  WrongRole: 'ERR_KD_SESSION_WRONG_ROLE',
  /** The target kept stopping anew instead of answering (details: api, attempts). */
  Interrupted: 'ERR_KD_SESSION_INTERRUPTED',
  /** An argument out of range (details: field). */
  BadArgument: 'ERR_KD_SESSION_BAD_ARGUMENT',
} as const;

export function sessionError(
  code: (typeof KdSessionErrorCode)[keyof typeof KdSessionErrorCode],
  message: string,
  details: Record<string, unknown> = {},
  extra: { cause?: unknown; canceled?: boolean; disconnected?: boolean } = {},
): VmkdError {
  return new VmkdError(code, message, { ...extra, details });
}
