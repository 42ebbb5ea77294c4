/** Codes the router adds to the shared link codes (`LinkErrorCode` in `@vmkd/kd-protocol`). */
export const RouterErrorCode = {
  /** The guest (target) side disappeared while a debugger request was outstanding. */
  TargetGone: 'ERR_ROUTER_TARGET_GONE',
  /** A byte relay's bounded buffer overflowed: a transparent relay cannot drop bytes, so it stops. */
  RelayOverflow: 'ERR_ROUTER_RELAY_OVERFLOW',
  /** An option was out of range (a zero queue bound, a negative buffer size). */
  BadOption: 'ERR_ROUTER_BAD_OPTION',
  /** The trace file could not be opened or written. */
  TraceWrite: 'ERR_ROUTER_TRACE_WRITE',
} as const;

export type RouterErrorCode = (typeof RouterErrorCode)[keyof typeof RouterErrorCode];
