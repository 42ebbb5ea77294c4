/** Error codes of the kernel walks. Stable once released. */
export const KernelWalkErrorCode = {
  /**
   * A LIST_ENTRY64 list did not close back on its head with consistent Blinks, when the caller
   * asked for a complete list (details: head, entry, end).
   */
  BrokenList: 'ERR_KERNEL_LIST_BROKEN',
} as const;
