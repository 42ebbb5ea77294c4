import { VmkdError } from '../errors.js';
import { KdApiErrorCode } from './errors.js';

/**
 * x86-64 debug registers as KD uses them (Intel SDM vol. 3, 18.2; KD spec 2.3 Continue2 and 2.5
 * control report). A debugger puts the four breakpoint addresses in KSPECIAL_REGISTERS.KernelDr0..3
 * of every processor (WriteControlSpace 2) and the enables in ContinueApi2's Dr7; the target reports
 * a hit as a single-step exception (0x80000004) whose Dr6 has the slot's B bit set.
 */

/** What a slot watches: R/W field of Dr7 (00 execute, 01 write, 10 I/O, 11 read or write). */
export type HardwareBreakpointKind = 'execute' | 'write' | 'io' | 'readwrite';

export interface HardwareBreakpoint {
  /** Dr0 … Dr3. */
  readonly slot: 0 | 1 | 2 | 3;
  readonly address: bigint;
  readonly kind: HardwareBreakpointKind;
  /** Bytes watched (execute breakpoints are always 1). The address must be aligned to it. */
  readonly length: 1 | 2 | 4 | 8;
}

/** Dr7 bit 10 reads as 1; it is what WinDbg sends with no breakpoint enabled (spec 2.3). */
export const DR7_RESERVED = 0x400n;
/** Dr6 as a CPU leaves it with no condition recorded (reserved bits set). */
export const DR6_CLEAR = 0xffff0ff0n;
/** Dr6.BS: the stop was a single step (TF), not a breakpoint slot. */
export const DR6_SINGLE_STEP = 0x4000n;

const KIND_BITS: Readonly<Record<HardwareBreakpointKind, bigint>> = { execute: 0n, write: 1n, io: 2n, readwrite: 3n };
const KINDS: readonly HardwareBreakpointKind[] = ['execute', 'write', 'io', 'readwrite'];
/** LEN encodings: 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8. */
const LENGTH_BITS: Readonly<Record<number, bigint>> = { 1: 0n, 2: 1n, 4: 3n, 8: 2n };
const LENGTHS: readonly (1 | 2 | 4 | 8)[] = [1, 2, 8, 4];

function badBreakpoint(message: string, details: Record<string, unknown>): VmkdError {
  return new VmkdError(KdApiErrorCode.FieldRange, message, { details: { structure: 'Dr7', ...details } });
}

/**
 * The Dr7 value that enables `breakpoints` (global enable bits, as Windows' kernel debugger sets
 * them). Throws ERR_KD_FIELD_RANGE for a slot used twice, a bad length or a misaligned address.
 */
export function encodeDr7(breakpoints: readonly HardwareBreakpoint[]): bigint {
  let dr7 = DR7_RESERVED;
  const used = new Set<number>();
  for (const bp of breakpoints) {
    if (![0, 1, 2, 3].includes(bp.slot)) throw badBreakpoint(`no debug register slot ${String(bp.slot)}`, { field: 'slot', value: bp.slot });
    if (used.has(bp.slot)) throw badBreakpoint(`slot ${bp.slot} is used twice`, { field: 'slot', value: bp.slot });
    used.add(bp.slot);
    const lengthBits = LENGTH_BITS[bp.length];
    if (lengthBits === undefined) throw badBreakpoint(`a hardware breakpoint watches 1, 2, 4 or 8 bytes, not ${String(bp.length)}`, { field: 'length', value: bp.length });
    if (bp.kind === 'execute' && bp.length !== 1) throw badBreakpoint('an execute breakpoint has length 1', { field: 'length', value: bp.length });
    if (bp.address % BigInt(bp.length) !== 0n) throw badBreakpoint(`address 0x${bp.address.toString(16)} is not aligned to ${bp.length}`, { field: 'address' });
    const shift = BigInt(16 + bp.slot * 4);
    dr7 |= 2n << BigInt(bp.slot * 2); // Gn
    dr7 |= (KIND_BITS[bp.kind] | (lengthBits << 2n)) << shift;
  }
  return dr7;
}

/** One enabled slot of a Dr7 value (either the local or the global enable bit). */
export interface Dr7Slot {
  readonly slot: 0 | 1 | 2 | 3;
  readonly kind: HardwareBreakpointKind;
  readonly length: 1 | 2 | 4 | 8;
}

/** The enabled slots of a Dr7 value. */
export function decodeDr7(dr7: bigint): Dr7Slot[] {
  const out: Dr7Slot[] = [];
  for (const slot of [0, 1, 2, 3] as const) {
    if (((dr7 >> BigInt(slot * 2)) & 3n) === 0n) continue;
    const field = Number((dr7 >> BigInt(16 + slot * 4)) & 0xfn);
    out.push({ slot, kind: KINDS[field & 3], length: LENGTHS[field >> 2] });
  }
  return out;
}

/** The slots (0 … 3) whose condition Dr6 reports as met (a control report's Dr6 is a number on x86). */
export function dr6Slots(dr6: bigint | number): number[] {
  const value = BigInt(dr6);
  return [0, 1, 2, 3].filter((slot) => ((value >> BigInt(slot)) & 1n) === 1n);
}
