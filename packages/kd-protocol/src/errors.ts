/**
 * The one error type vmkd throws. Callers and tests match on `code` (stable API once released),
 * never on the message. Link errors carry serialport-style flags: `canceled` for an operation cut
 * short by a local close(), `disconnected` when the peer or device went away.
 */
export interface VmkdErrorOptions {
  cause?: unknown;
  canceled?: boolean;
  disconnected?: boolean;
  /** Structured context for logs and `--json` output (field names, offsets, sizes). */
  details?: Readonly<Record<string, unknown>>;
}

export class VmkdError extends Error {
  readonly code: string;
  readonly canceled: boolean;
  readonly disconnected: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options: VmkdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VmkdError';
    this.code = code;
    this.canceled = options.canceled ?? false;
    this.disconnected = options.disconnected ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): { code: string; message: string; details?: Readonly<Record<string, unknown>> } {
    return Object.keys(this.details).length > 0
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export function isVmkdError(error: unknown, code?: string): error is VmkdError {
  return error instanceof VmkdError && (code === undefined || error.code === code);
}

/** Codes shared by every link implementation (byte links and packet links alike). */
export const LinkErrorCode = {
  /** The link was closed locally; pending operations reject with `canceled: true`. */
  Closed: 'ERR_LINK_CLOSED',
  /** The peer went away (socket closed, process died, device removed): `disconnected: true`. */
  Disconnected: 'ERR_LINK_DISCONNECTED',
  /** The peer did not acknowledge within the retry budget. */
  Timeout: 'ERR_LINK_TIMEOUT',
  /** An operation the link's role does not support (e.g. breakIn() on a debugger-facing link). */
  Unsupported: 'ERR_LINK_UNSUPPORTED',
  /** A packet larger than the protocol allows was handed to send(). */
  TooLarge: 'ERR_LINK_PACKET_TOO_LARGE',
  /** The target behind a debugger-facing link rebooted; what its old kernel had queued was dropped (`canceled: true`). */
  TargetRestarted: 'ERR_LINK_TARGET_RESTARTED',
} as const;
