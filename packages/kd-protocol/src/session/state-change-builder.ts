import { CpuContext } from '../api/context.js';
import { KdLimits, KdStateChange, NtStatus } from '../api/constants.js';
import { ansiBytes } from '../api/io.js';
import { encodeWaitStateChange } from '../api/state-change.js';
import type { StopReason, TargetBackend } from '../target-backend.js';

/** KGDT64_R0_CODE: the kernel code selector; ReportFlags bit 2 says CS is this standard one. */
const STANDARD_KERNEL_CS = 0x10;
const REPORT_INCLUDES_SEGS = 1;
const REPORT_STANDARD_CS = 2;

/** A breakpoint the debugger planted, with the byte its int3 replaced. */
export interface PlantedBreakpoint {
  readonly address: bigint;
  readonly original: number;
}

/**
 * Builds the AMD64 `DBGKD_ANY_WAIT_STATE_CHANGE` a Windows x64 kernel sends when it stops: header
 * from the backend (level, CPU count, thread), control report from the CPU's CONTEXT (Dr6, Dr7,
 * EFlags, CS/DS/ES/FS) and the instruction bytes at the program counter read from memory, with the
 * debugger's own breakpoints removed (spec 2.5): the debugger disassembles what the code really is.
 */
export function buildStateChange(backend: TargetBackend, reason: StopReason, breakpoints: Iterable<PlantedBreakpoint> = []): Uint8Array {
  const cpu = reason.cpu;
  const context = new CpuContext('amd64', backend.getContext(cpu));
  const pc = reason.kind === 'exception' ? reason.address : context.get('rip');
  const stream = backend.readVirtual(pc, KdLimits.InstructionStreamSize, cpu).slice(0, KdLimits.InstructionStreamSize);
  for (const { address, original } of breakpoints) {
    const offset = address - pc;
    if (offset >= 0n && offset < BigInt(stream.length)) stream[Number(offset)] = original;
  }
  const cs = Number(context.get('cs'));
  const common = {
    arch: 'amd64' as const,
    processorLevel: backend.processorLevel(),
    processor: cpu,
    numberProcessors: backend.processorCount,
    thread: backend.currentThread(cpu),
    programCounter: pc,
    dr6: context.get('dr6'),
    dr7: context.get('dr7'),
    eFlags: Number(context.get('eflags')),
    instructionCount: stream.length,
    reportFlags: REPORT_INCLUDES_SEGS | (cs === STANDARD_KERNEL_CS ? REPORT_STANDARD_CS : 0),
    instructionStream: stream,
    segCs: cs,
    segDs: Number(context.get('ds')),
    segEs: Number(context.get('es')),
    segFs: Number(context.get('fs')),
  };
  if (reason.kind === 'exception') {
    const parameters = (reason.parameters ?? []).slice(0, 15);
    return encodeWaitStateChange({
      ...common,
      kind: 'exception',
      newState: KdStateChange.Exception,
      exceptionCode: reason.code >>> 0,
      exceptionAddress: reason.address,
      numberParameters: parameters.length,
      exceptionInformation: parameters,
      firstChance: reason.firstChance ? 1 : 0,
    });
  }
  const limit = KdLimits.MaxPayload - KdLimits.StateChangeSize - 1;
  const name = ansiBytes(reason.imageName).subarray(0, limit);
  const path = new Uint8Array(name.length + 1);
  path.set(name);
  return encodeWaitStateChange({
    ...common,
    kind: 'loadSymbols',
    newState: KdStateChange.LoadSymbols,
    pathNameLength: path.length,
    baseOfDll: reason.baseOfDll,
    processId: reason.processId,
    checkSum: reason.checkSum >>> 0,
    sizeOfImage: reason.sizeOfImage >>> 0,
    unloadSymbols: reason.unload ? 1 : 0,
    data: path,
  });
}

/** The stop a target that is already halted reports when nobody told us why: a break-in at the PC. */
export function breakInStop(backend: TargetBackend, cpu = 0): StopReason {
  const context = new CpuContext('amd64', backend.getContext(cpu));
  return { kind: 'exception', cpu, code: NtStatus.Breakpoint, address: context.get('rip'), firstChance: true };
}

