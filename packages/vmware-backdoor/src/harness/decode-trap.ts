import { BDOOR_MAGIC, BDOOR_PORT, BDOORHB_PORT, HYPERCALL_FLAG_HB, HYPERCALL_FLAG_WRITE } from '../abi.js';

/** What a trapping instruction asks of the VMX (or of the CPUID emulation). */
export type TrapKind = 'lb' | 'hb-out' | 'hb-in' | 'cpuid';

export interface DecodedTrap {
  readonly kind: TrapKind;
  /** Instruction length: RIP advances by this much once the trap is emulated. */
  readonly length: number;
  readonly mnemonic: 'in' | 'out' | 'rep outsb' | 'rep insb' | 'vmcall' | 'vmmcall' | 'cpuid';
}

export const SIGILL = 4;
export const SIGSEGV = 11;
/** si_code of a #GP raised by a privileged instruction (and by a faulting CPUID). */
export const SI_KERNEL = 0x80;

/**
 * Classifies the instruction at RIP of a stopped tracee (spec §9.3 steps 3, 5, 6). Returns
 * `undefined` for anything that is not a backdoor access or a faulting CPUID, so that the signal is
 * re-injected and the program sees what it would see on real hardware (its own SIGSEGV/SIGILL probes
 * keep working).
 *
 * `bytes` are the (up to 3) bytes at RIP; `eax`/`edx` the low 32 bits of RAX/RDX at the trap.
 */
export function decodeTrap(signal: number, siCode: number, bytes: Uint8Array, eax: number, edx: number): DecodedTrap | undefined {
  const b0 = bytes[0];
  const b1 = bytes[1];
  const b2 = bytes[2];
  if (signal === SIGSEGV && siCode === SI_KERNEL) {
    if (b0 === 0x0f && b1 === 0xa2) return { kind: 'cpuid', length: 2, mnemonic: 'cpuid' };
    if (eax >>> 0 !== BDOOR_MAGIC) return undefined;
    const port = edx & 0xffff;
    if (b0 === 0xed && port === BDOOR_PORT) return { kind: 'lb', length: 1, mnemonic: 'in' };
    if (b0 === 0xef && port === BDOOR_PORT) return { kind: 'lb', length: 1, mnemonic: 'out' };
    if (b0 === 0xf3 && b1 === 0x6e && port === BDOORHB_PORT) return { kind: 'hb-out', length: 2, mnemonic: 'rep outsb' };
    if (b0 === 0xf3 && b1 === 0x6c && port === BDOORHB_PORT) return { kind: 'hb-in', length: 2, mnemonic: 'rep insb' };
    return undefined;
  }
  // VMCALL/VMMCALL outside VMX non-root mode (or without SVM) raise #UD: SIGILL.
  if (signal === SIGILL && b0 === 0x0f && b1 === 0x01 && (b2 === 0xc1 || b2 === 0xd9)) {
    if (eax >>> 0 !== BDOOR_MAGIC) return undefined;
    const mnemonic = b2 === 0xc1 ? 'vmcall' : 'vmmcall';
    switch (edx & 0xffff) {
      case 0:
        return { kind: 'lb', length: 3, mnemonic };
      case HYPERCALL_FLAG_HB | HYPERCALL_FLAG_WRITE:
        return { kind: 'hb-out', length: 3, mnemonic };
      case HYPERCALL_FLAG_HB:
        return { kind: 'hb-in', length: 3, mnemonic };
      default:
        return undefined;
    }
  }
  return undefined;
}
