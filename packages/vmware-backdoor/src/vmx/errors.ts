import { VmkdError } from '@vmkd/kd-protocol';

/** Error codes of the emulated VMX. Stable once released. */
export const VmxErrorCode = {
  /**
   * The VMX was told to behave as "not VMware": the access raises #GP, which on real hardware kills
   * the process (SIGSEGV). The ptrace harness re-injects SIGSEGV when it sees this code.
   */
  NotVmware: 'ERR_VMX_NOT_VMWARE',
  /** A handler name that is empty or contains a space. */
  BadHandlerName: 'ERR_VMX_BAD_HANDLER_NAME',
} as const;

export function notVmwareError(): VmkdError {
  return new VmkdError(VmxErrorCode.NotVmware, 'backdoor access without VMware: #GP (SIGSEGV on real hardware)');
}
