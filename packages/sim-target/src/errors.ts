import { VmkdError } from '@vmkd/kd-protocol';

/** Codes the simulator throws (README "Errors"). */
export const SimTargetErrorCode = {
  /** An option of createSimTarget() is out of range or unknown (build name, CPU count, memory size …). */
  BadOption: 'ERR_SIM_BAD_OPTION',
  /** A single read or write asked for more bytes than one call may move. */
  LengthTooLarge: 'ERR_SIM_LENGTH_TOO_LARGE',
  /** A CPU index outside 0 … cpus − 1. */
  BadCpu: 'ERR_SIM_BAD_CPU',
  /** A context buffer that is not a 1232-byte AMD64 CONTEXT. */
  BadContext: 'ERR_SIM_BAD_CONTEXT',
  /** The simulator was closed. */
  Closed: 'ERR_SIM_CLOSED',
  /** The RAM file (`ramFile`) could not be created or written. */
  RamFile: 'ERR_SIM_RAM_FILE',
} as const;

export function badOption(name: string, message: string, value: unknown): VmkdError {
  return new VmkdError(SimTargetErrorCode.BadOption, `sim-target option ${name}: ${message}`, {
    details: { option: name, value: typeof value === 'bigint' ? `0x${value.toString(16)}` : value },
  });
}
