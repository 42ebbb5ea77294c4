import { VmkdError } from '@vmkd/kd-protocol';

/** Stable codes of `@vmkd/vmm-memory` (README `## Errors`). */
export const VmmMemoryErrorCode = {
  /** A memory-source URI that is not `file:PATH[?layout=…]` or `qemu:QMP_SOCKET[?…]`, or a bad option in it. */
  BadUri: 'ERR_VMM_BAD_URI',
  /** The guest-physical → source-offset layout cannot be determined: the message says what to pass. */
  LayoutUnknown: 'ERR_VMM_LAYOUT_UNKNOWN',
  /** The source could not be opened or read (missing file, permission on /proc/PID/mem, short read). */
  SourceIo: 'ERR_VMM_SOURCE_IO',
  /** The source is closed. */
  Closed: 'ERR_VMM_CLOSED',
  /** QEMU's QMP monitor failed, refused a command, or answered something unexpected. */
  Qmp: 'ERR_VMM_QMP',
  /** QEMU reported no guest RAM in its system address space. */
  QmpNoRam: 'ERR_VMM_QMP_NO_RAM',
  /** A crash dump file is not one vmkd can read (bad signature, truncated, unsupported type). */
  DumpFormat: 'ERR_VMM_DUMP_FORMAT',
  /** A dump could not be written or resumed (the partial file belongs to another dump, I/O failed). */
  DumpWrite: 'ERR_VMM_DUMP_WRITE',
  /** Something the dump needs could not be read from the target (version block, KDDEBUGGER_DATA64, context). */
  DumpTarget: 'ERR_VMM_DUMP_TARGET',
  /** An option out of range. */
  BadOption: 'ERR_VMM_BAD_OPTION',
} as const;

export type VmmMemoryErrorCode = (typeof VmmMemoryErrorCode)[keyof typeof VmmMemoryErrorCode];

export function vmmError(code: VmmMemoryErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): VmkdError {
  return new VmkdError(code, message, { details, cause });
}
