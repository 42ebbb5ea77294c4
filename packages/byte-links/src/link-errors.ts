import { LinkErrorCode, VmkdError } from '@vmkd/kd-protocol';

/** The rejection of an operation cut short (or attempted) after a local close(). */
export function linkClosedError(name: string): VmkdError {
  return new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true, details: { link: name } });
}

/** The peer, process or device behind the link went away. */
export function linkDisconnectedError(name: string, cause?: unknown): VmkdError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new VmkdError(LinkErrorCode.Disconnected, `${name}: peer disconnected${reason}`, {
    disconnected: true,
    cause,
    details: { link: name },
  });
}
