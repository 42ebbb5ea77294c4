/** Error codes of the ptrace harness. Stable API. */
export const HarnessErrorCode = {
  /** Not x86-64 Linux: the harness needs ptrace and the SysV stubs. */
  UnsupportedPlatform: 'ERR_HARNESS_UNSUPPORTED_PLATFORM',
  /** Bad options (no command, a VMX without call/hbOut/hbIn). */
  BadOptions: 'ERR_HARNESS_BAD_OPTIONS',
  /** The tracer could not start or stopped working (spawn, PTRACE_SEIZE, waitpid failures). */
  TracerFailed: 'ERR_HARNESS_TRACER_FAILED',
  /** The VMX did not answer a trapped call within `callTimeoutMs`; the tracee was killed. */
  VmxTimeout: 'ERR_HARNESS_VMX_TIMEOUT',
  /** `runUnderHarnessUntilReady`: the program exited before printing its ready line. */
  StartFailed: 'ERR_HARNESS_START_FAILED',
  /** `runUnderHarnessUntilReady`: no ready line within `startTimeoutMs`; the program was killed. */
  StartTimeout: 'ERR_HARNESS_START_TIMEOUT',
} as const;
