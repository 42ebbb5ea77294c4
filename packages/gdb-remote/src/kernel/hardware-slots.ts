import { dr6Slots, type HardwareBreakpoint, type HardwareBreakpointKind } from '@vmkd/kd-protocol';

/**
 * gdb's hardware breakpoints and watchpoints (`Z1`–`Z4`, gdb manual "Packets", z type) on the
 * four x86-64 debug registers (Intel SDM vol. 3, 18.2). Pure: which slot each one takes, what
 * Dr0–Dr3/Dr7 then hold, and which one a stop's Dr6 names. The stub arms the result through
 * DebuggerSession.setHardwareBreakpoints (KernelDr0–3 by WriteControlSpace, Dr7 in ContinueApi2,
 * KD spec 2.3).
 */

/** `Z1` hardware breakpoint, `Z2` write, `Z3` read, `Z4` access watchpoint. */
export type HardwareType = 1 | 2 | 3 | 4;

export interface HardwareSlot {
  readonly slot: 0 | 1 | 2 | 3;
  readonly type: HardwareType;
  readonly address: bigint;
  readonly length: 1 | 2 | 4 | 8;
}

/** Why a `Z1`–`Z4` is refused; each has its own `E` reply (errno numbers, as gdbserver uses them). */
export type HardwareRefusal = 'no-free-slot' | 'bad-length' | 'misaligned';

export const HARDWARE_REFUSAL_REPLY: Readonly<Record<HardwareRefusal, string>> = {
  'no-free-slot': 'E1c', // ENOSPC: all four debug registers are in use
  'bad-length': 'E16', // EINVAL: a debug register watches 1, 2, 4 or 8 bytes (execute: 1)
  misaligned: 'E0e', // EFAULT: the address is not aligned to the length
};

const SLOTS = [0, 1, 2, 3] as const;

/**
 * x86 has no read-only data breakpoint (R/W 10 is I/O): a read watchpoint takes a read-or-write
 * slot, and the stub tells reads from writes by the watched value (see isReadHit).
 */
const KIND: Readonly<Record<HardwareType, HardwareBreakpointKind>> = { 1: 'execute', 2: 'write', 3: 'readwrite', 4: 'readwrite' };

/** Places one `Z1`–`Z4` in the lowest free debug register, or says why it cannot be placed. */
export function placeHardware(
  slots: readonly HardwareSlot[],
  type: HardwareType,
  address: bigint,
  length: number,
): { readonly slots: readonly HardwareSlot[] } | { readonly refused: HardwareRefusal } {
  // Z1's kind is the breakpoint size gdb would use (1 on x86); an execute slot's LEN must be 00.
  if (type === 1 ? length !== 1 : length !== 1 && length !== 2 && length !== 4 && length !== 8) return { refused: 'bad-length' };
  if (address % BigInt(length) !== 0n) return { refused: 'misaligned' };
  const free = SLOTS.find((s) => !slots.some((h) => h.slot === s));
  if (free === undefined) return { refused: 'no-free-slot' };
  return { slots: [...slots, { slot: free, type, address, length: length as 1 | 2 | 4 | 8 }] };
}

/** Removes the `z1`–`z4` that matches (gdb removes what it inserted, with the same arguments). */
export function removeHardware(slots: readonly HardwareSlot[], type: HardwareType, address: bigint, length: number): readonly HardwareSlot[] {
  const i = slots.findIndex((h) => h.type === type && h.address === address && h.length === length);
  return i < 0 ? slots : [...slots.slice(0, i), ...slots.slice(i + 1)];
}

/** What DebuggerSession.setHardwareBreakpoints arms for these slots. */
export function debugRegistersOf(slots: readonly HardwareSlot[]): HardwareBreakpoint[] {
  return slots.map((h) => ({ slot: h.slot, address: h.address, kind: KIND[h.type], length: h.length }));
}

export type HardwareHit =
  | { readonly kind: 'hwbreak'; readonly slot: HardwareSlot }
  | { readonly kind: 'watch' | 'rwatch' | 'awatch'; readonly slot: HardwareSlot };

const HIT_KIND = { 2: 'watch', 3: 'rwatch', 4: 'awatch' } as const;

/**
 * The armed slot a stop's Dr6 names (B0–B3; a hit arrives as STATUS_SINGLE_STEP, KD spec 2.5),
 * or undefined. Watchpoints win over an execute breakpoint hit at the same time: gdb must see
 * the data access.
 */
export function hardwareHit(slots: readonly HardwareSlot[], dr6: bigint | number): HardwareHit | undefined {
  const fired = slots.filter((h) => dr6Slots(dr6).includes(h.slot));
  const watch = fired.find((h) => h.type !== 1);
  if (watch !== undefined) return { kind: HIT_KIND[watch.type as 2 | 3 | 4], slot: watch };
  const exec = fired[0];
  return exec === undefined ? undefined : { kind: 'hwbreak', slot: exec };
}

/**
 * A read watchpoint's slot fires on writes too (x86): the access was a read if the watched bytes
 * did not change. As in gdb's own emulation of read watchpoints with access ones, a write of the
 * same value counts as a read.
 */
export function isReadHit(before: Uint8Array | undefined, after: Uint8Array | undefined): boolean {
  if (before === undefined || after === undefined || before.length !== after.length) return true;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) return false;
  return true;
}
