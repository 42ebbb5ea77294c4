import { VmkdError } from '@vmkd/kd-protocol';

/** Error codes of the guest-side GuestRPC client. Stable once released. */
export const GuestRpcErrorCode = {
  /** OPEN failed with and without cookies (no free channel, no GuestRPC, not VMware). */
  OpenFailed: 'ERR_GUESTRPC_OPEN_FAILED',
  /** A send step failed without CPT (details: step, status, length). */
  SendFailed: 'ERR_GUESTRPC_SEND_FAILED',
  /** A receive step failed without CPT (details: step, status). */
  ReceiveFailed: 'ERR_GUESTRPC_RECEIVE_FAILED',
  /** The VMX reported CLOSED, TIMEOUT or POWEROFF: the channel is gone (`disconnected`). */
  ChannelClosed: 'ERR_GUESTRPC_CHANNEL_CLOSED',
  /** Checkpoints kept interrupting the same transaction beyond the retry bound. */
  CheckpointLoop: 'ERR_GUESTRPC_CHECKPOINT_LOOP',
  /** The VMX broke the protocol: no DORECV after an RPCI, a wrong EDX marker (details: step, expected, actual). */
  Protocol: 'ERR_GUESTRPC_PROTOCOL',
  /** The reply is longer than the caller allows (details: length, limit). */
  ReplyTooLarge: 'ERR_GUESTRPC_REPLY_TOO_LARGE',
  /** The channel was used after close(). */
  NotOpen: 'ERR_GUESTRPC_NOT_OPEN',
  /** An RPCI reply that starts with neither `"1 "` nor `"0 "`. */
  BadReply: 'ERR_RPCI_BAD_REPLY',
  /** The VMX answered `"0 <text>"` (details: command, reply). */
  CommandFailed: 'ERR_RPCI_COMMAND_FAILED',
} as const;

export function guestRpcError(
  code: (typeof GuestRpcErrorCode)[keyof typeof GuestRpcErrorCode],
  message: string,
  details: Record<string, unknown> = {},
  disconnected = false,
): VmkdError {
  return new VmkdError(code, `GuestRPC: ${message}`, { details, disconnected });
}
