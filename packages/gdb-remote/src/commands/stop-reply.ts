import type { WaitStateChange } from '@vmkd/kd-protocol';
import { byteHex, littleEndianHex } from '../rsp/hex.js';
import { REGISTER_INDEX } from '../registers/register-map.js';

/** gdb's signal numbers (gdb/signals.def, the remote protocol's numbering). */
export const GdbSignal = { INT: 2, ILL: 4, TRAP: 5, FPE: 8, SEGV: 11 } as const;

/** Windows exception codes a stop reply maps to a signal. */
const EXCEPTION_SIGNAL: ReadonlyMap<number, number> = new Map([
  [0x80000003, GdbSignal.TRAP], // STATUS_BREAKPOINT
  [0x80000004, GdbSignal.TRAP], // STATUS_SINGLE_STEP
  [0xc0000005, GdbSignal.SEGV], // STATUS_ACCESS_VIOLATION
  [0xc000001d, GdbSignal.ILL], // STATUS_ILLEGAL_INSTRUCTION
  [0xc0000094, GdbSignal.FPE], // STATUS_INTEGER_DIVIDE_BY_ZERO
]);

/** Thread id of a processor: gdb reserves 0 (any) and -1 (all), so CPU n is thread n + 1. */
export function threadOfProcessor(processor: number): number {
  return processor + 1;
}

export function processorOfThread(thread: number): number {
  return thread - 1;
}

export interface StopContext {
  /** The stop answers a client's interrupt (0x03): reported as SIGINT, as gdb expects. */
  readonly interrupted: boolean;
  /** The stop is at a breakpoint the client inserted with Z0: `swbreak` tells gdb the PC needs no adjusting. */
  readonly swbreak: boolean;
  /** A data watchpoint fired at this address (Z2/Z3/Z4): `watch`/`rwatch`/`awatch`. */
  readonly watch?: { readonly kind: 'watch' | 'rwatch' | 'awatch'; readonly address: bigint };
  /** The stop is at a hardware breakpoint (Z1). */
  readonly hwbreak?: boolean;
}

export function signalOf(stateChange: WaitStateChange, interrupted: boolean): number {
  if (interrupted) return GdbSignal.INT;
  if (stateChange.kind !== 'exception') return GdbSignal.TRAP;
  return EXCEPTION_SIGNAL.get(stateChange.exceptionCode) ?? GdbSignal.TRAP;
}

/**
 * The `T` stop reply (gdb manual, "Stop Reply Packets"): signal, the thread (CPU) that stopped,
 * the stop reason, and the PC so gdb need not ask for it.
 */
export function formatStopReply(stateChange: WaitStateChange, context: StopContext): string {
  let reply = `T${byteHex(signalOf(stateChange, context.interrupted))}`;
  reply += `thread:${threadOfProcessor(stateChange.processor).toString(16)};`;
  if (context.watch !== undefined) reply += `${context.watch.kind}:${context.watch.address.toString(16)};`;
  else if (context.hwbreak === true) reply += 'hwbreak:;';
  else if (context.swbreak) reply += 'swbreak:;';
  reply += `${REGISTER_INDEX.get('rip')!.toString(16)}:${littleEndianHex(stateChange.programCounter, 8)};`;
  return reply;
}

/** One qXfer reply piece: `m` + data when more follows, `l` + data at the end (gdb manual, qXfer). */
export function xferSlice(document: Uint8Array, offset: number, length: number): Uint8Array {
  const piece = document.subarray(Math.min(offset, document.length), Math.min(offset + length, document.length));
  const out = new Uint8Array(piece.length + 1);
  out[0] = offset + length < document.length ? 0x6d : 0x6c;
  out.set(piece, 1);
  return out;
}
