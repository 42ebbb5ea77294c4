/** Error codes of the KDRPC guest and host roles (the codec's own are `KdrpcErrorCode` in kd-protocol). */
export const KdrpcLinkErrorCode = {
  /** The host answered a body with an empty reply (details in the host's status). */
  Rejected: 'ERR_KDRPC_REJECTED',
  /** A debugger packet dropped from the host's queue by resync() or close(). */
  Flushed: 'ERR_KDRPC_FLUSHED',
  /** A guest call got a `"0 …"` reply from the VMM (details: command, reply). */
  CallFailed: 'ERR_KDRPC_CALL_FAILED',
  /** The host reported an older protocol version than the guest's (details: host, guest). */
  HostTooOld: 'ERR_KDRPC_HOST_TOO_OLD',
} as const;
