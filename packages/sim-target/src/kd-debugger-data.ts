import { KDBG_OWNER_TAG, KdDebuggerDataOffset } from '@vmkd/kd-protocol/kernel';
import type { BuildProfile } from './builds.js';
import type { KernelWriter } from './kernel-writer.js';

export interface KdDebuggerDataValues {
  readonly address: bigint;
  readonly listHead: bigint;
  readonly kernBase: bigint;
  readonly breakpointWithStatus: bigint;
  readonly psLoadedModuleList: bigint;
  readonly psActiveProcessHead: bigint;
  readonly kiProcessorBlock: bigint;
  readonly printBuffer: bigint;
  readonly printBufferSize: number;
  /** Address of each kernel variable by its KDBG field name. */
  readonly variables: Readonly<Partial<Record<keyof typeof KdDebuggerDataOffset, bigint>>>;
  readonly pteBase: bigint;
}

/** Writes the kernel's KDDEBUGGER_DATA64 with kd-protocol's layout (`KdDebuggerDataOffset`, spec 2.4). */
export function writeKdDebuggerData(w: KernelWriter, profile: BuildProfile, d: KdDebuggerDataValues): void {
  const at = (field: keyof typeof KdDebuggerDataOffset): bigint => d.address + BigInt(KdDebuggerDataOffset[field]);
  // The block is the only entry of the debugger data list (spec 2.4): head ⇄ block.
  w.listEntry(d.listHead, d.address, d.address);
  w.listEntry(at('List'), d.listHead, d.listHead);
  w.u32(at('OwnerTag'), KDBG_OWNER_TAG);
  w.u32(at('Size'), profile.kdDebuggerDataSize);
  w.u64(at('KernBase'), d.kernBase);
  w.u64(at('BreakpointWithStatus'), d.breakpointWithStatus);
  w.u16(at('PaeEnabled'), 1); // x64 always runs with PAE paging
  w.u64(at('PsLoadedModuleList'), d.psLoadedModuleList);
  w.u64(at('PsActiveProcessHead'), d.psActiveProcessHead);
  w.u64(at('KiProcessorBlock'), d.kiProcessorBlock);
  w.u64(at('KdPrintCircularBuffer'), d.printBuffer);
  w.u64(at('KdPrintCircularBufferEnd'), d.printBuffer + BigInt(d.printBufferSize));
  for (const [field, address] of Object.entries(d.variables)) {
    w.u64(at(field as keyof typeof KdDebuggerDataOffset), address);
  }
  const k = profile.kthread;
  const e = profile.eprocess;
  const p = profile.processor;
  w.u16(at('OffsetKThreadNextProcessor'), k.nextProcessor);
  w.u16(at('OffsetKThreadTeb'), k.teb);
  w.u16(at('OffsetKThreadKernelStack'), k.kernelStack);
  w.u16(at('OffsetKThreadInitialStack'), k.initialStack);
  w.u16(at('OffsetKThreadApcProcess'), k.apcStateProcess);
  w.u16(at('OffsetKThreadState'), k.state);
  w.u16(at('SizeEProcess'), e.size);
  w.u16(at('OffsetEprocessPeb'), e.peb);
  w.u16(at('OffsetEprocessParentCID'), e.inheritedFromUniqueProcessId);
  w.u16(at('OffsetEprocessDirectoryTableBase'), e.directoryTableBase);
  w.u16(at('SizePrcb'), p.prcbSize);
  w.u16(at('OffsetPrcbCurrentThread'), p.prcbCurrentThread);
  w.u16(at('OffsetPrcbProcStateContext'), p.prcbProcessorState + p.specialRegistersSize);
  w.u16(at('OffsetPrcbNumber'), p.prcbNumber);
  w.u16(at('SizeEThread'), k.ethreadSize);
  w.u16(at('SizePcr'), p.pcrSize);
  w.u16(at('OffsetPcrSelfPcr'), p.pcrSelf);
  w.u16(at('OffsetPcrCurrentPrcb'), p.pcrCurrentPrcb);
  w.u16(at('OffsetPcrContainedPrcb'), p.pcrPrcb);
  w.u16(at('OffsetPrcbProcStateSpecialReg'), p.prcbProcessorState);
  w.u16(at('GdtR0Code'), 0x10);
  w.u16(at('GdtR0Data'), 0x18);
  w.u16(at('GdtR3Code'), 0x33);
  w.u16(at('GdtR3Data'), 0x2b);
  w.u16(at('GdtTss'), 0x40);
  w.u16(at('Gdt64R3CmCode'), 0x23);
  w.u16(at('Gdt64R3CmTeb'), 0x53);
  if (profile.kdDebuggerDataSize >= KdDebuggerDataOffset.PteBase + 8) w.u64(at('PteBase'), d.pteBase);
}
