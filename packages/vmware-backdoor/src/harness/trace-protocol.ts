import type { MessagePort } from 'node:worker_threads';
import type { BackdoorRegs } from '../backdoor-port.js';
import type { HarnessCpuidOptions } from './cpuid-emulation.js';

/**
 * Messages between the tracer worker (blocking waitpid loop) and the main thread (the VMX).
 * Requests go worker → main with `postMessage`; the worker then blocks in `Atomics.wait` on
 * `flag[0]` until the main thread has posted the answer on `replyPort` and set the flag to 1, and
 * reads it synchronously with `receiveMessageOnPort`.
 */
export interface TraceWorkerData {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd?: string;
  readonly cpuid: HarnessCpuidOptions;
  readonly koffiPath: string;
  readonly flag: SharedArrayBuffer;
  readonly replyPort: MessagePort;
  readonly callTimeoutMs: number;
  readonly maxHbBytes: number;
}

export interface HarnessStats {
  /** Backdoor instructions emulated against the VMX (LB and HB). */
  backdoorCalls: number;
  hbOutBytes: number;
  hbInBytes: number;
  /** CPUID instructions trapped and answered. */
  cpuidEmulated: number;
  /** Faults that were not backdoor accesses, and other signals, handed back to the tracee. */
  signalsForwarded: number;
  /** Processes traced (the command, its forks and their execs). */
  processes: number;
  /** Whether arch_prctl(ARCH_SET_CPUID, 0) succeeded in the tracee (false: CPUID is not emulated). */
  cpuidFaulting: boolean;
  /** VMX calls that threw (the guest then saw EAX = 0xFFFFFFFF). */
  vmxErrors: number;
}

/** Counters at the start of a run (the worker counts; the main thread mirrors its last report). */
export function emptyHarnessStats(): HarnessStats {
  return { backdoorCalls: 0, hbOutBytes: 0, hbInBytes: 0, cpuidEmulated: 0, signalsForwarded: 0, processes: 0, cpuidFaulting: false, vmxErrors: 0 };
}

export type TraceRequest =
  | { readonly type: 'lb'; readonly regs: BackdoorRegs }
  | { readonly type: 'hb-out'; readonly regs: BackdoorRegs; readonly data: Uint8Array }
  | { readonly type: 'hb-in'; readonly regs: BackdoorRegs; readonly length: number };

export type TraceReply = { readonly regs: BackdoorRegs; readonly data?: Uint8Array } | { readonly error: string };

export type WorkerMessage =
  | { readonly type: 'spawned'; readonly pid: number; readonly stdoutFd: number; readonly stderrFd: number }
  | { readonly type: 'process'; readonly pid: number }
  | { readonly type: 'trap'; readonly request: TraceRequest; readonly stats: HarnessStats }
  | { readonly type: 'exit'; readonly pid: number; readonly code: number | null; readonly signal: number | null }
  | { readonly type: 'done'; readonly stats: HarnessStats }
  | { readonly type: 'failed'; readonly message: string; readonly stats: HarnessStats };
