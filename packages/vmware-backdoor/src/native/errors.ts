import { VmkdError } from '@vmkd/kd-protocol';

/** Error codes of the native layer (koffi, the executable page, detection). Stable API. */
export const NativeErrorCode = {
  /** Not x86-64, or an OS without an executable-page recipe (only Linux and Windows have one). */
  UnsupportedPlatform: 'ERR_NATIVE_UNSUPPORTED_PLATFORM',
  /** koffi or the system library (libc, kernel32) could not be loaded. */
  LoadFailed: 'ERR_NATIVE_LOAD_FAILED',
  /** mmap/mprotect (VirtualAlloc/VirtualProtect) refused the executable page (SELinux execmem, PaX). */
  ExecPageFailed: 'ERR_NATIVE_EXEC_PAGE_FAILED',
} as const;

/** Error codes of the guest-side backdoor access. Stable API. */
export const BackdoorNativeErrorCode = {
  /** Detection says this is not a VMware guest; `details.vendor` names the hypervisor found. */
  NotVmware: 'ERR_BACKDOOR_NOT_VMWARE',
  /** A register value is not a u32, or an HB transfer is larger than the port allows. */
  BadArgument: 'ERR_BACKDOOR_BAD_ARGUMENT',
  /** The child-process probe could not run (spawn failure, timeout, unreadable answer). */
  ProbeFailed: 'ERR_BACKDOOR_PROBE_FAILED',
} as const;

export function nativeError(code: string, message: string, details?: Record<string, unknown>, cause?: unknown): VmkdError {
  return new VmkdError(code, message, { ...(details ? { details } : {}), ...(cause === undefined ? {} : { cause }) });
}
