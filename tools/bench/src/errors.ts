/** Stable codes of the errors `@vmkd/bench` throws (listed in the README). */
export const BenchErrorCode = {
  /** A measurement did not finish within its time limit. */
  Timeout: 'ERR_BENCH_TIMEOUT',
  /** Bytes read back differ from the virtual kernel's formula. */
  VerifyFailed: 'ERR_BENCH_VERIFY_FAILED',
  /** An option is out of range (unknown cell, bad size). */
  BadOption: 'ERR_BENCH_BAD_OPTION',
  /** A bench child (native-stub guest, two-process serial guest, two-process raw replier) did not come up. */
  ChildFailed: 'ERR_BENCH_CHILD_FAILED',
  /** The gdb endpoint cell's RSP client got a reply it cannot use (an `E` reply, a bad stop reply). */
  GdbReply: 'ERR_BENCH_GDB_REPLY',
} as const;
export type BenchErrorCode = (typeof BenchErrorCode)[keyof typeof BenchErrorCode];
