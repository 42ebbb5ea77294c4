import type { BuildProfile } from './builds.js';
import type { KernelWriter } from './kernel-writer.js';

/**
 * KDDEBUGGER_DATA64 field offsets (x64; the layout the public debugger extension header documents:
 * a DBGKD_DEBUG_DATA_HEADER64, then 64-bit addresses of kernel variables, with 16-bit structure
 * offsets from Windows Server 2003 on). KD spec 2.4 lists the ones radare2 reads.
 */
export const KdDebuggerDataOffset = {
  List: 0x00,
  OwnerTag: 0x10,
  Size: 0x14,
  KernBase: 0x18,
  BreakpointWithStatus: 0x20,
  SavedContext: 0x28,
  ThCallbackStack: 0x30,
  NextCallback: 0x32,
  FramePointer: 0x34,
  PaeEnabled: 0x36,
  KiCallUserMode: 0x38,
  KeUserCallbackDispatcher: 0x40,
  PsLoadedModuleList: 0x48,
  PsActiveProcessHead: 0x50,
  PspCidTable: 0x58,
  /** nt!KiBugCheckData: the code and parameters of the last bugcheck. */
  KiBugcheckData: 0x88,
  MmPfnDatabase: 0xc0,
  MmLowestPhysicalPage: 0xe8,
  MmHighestPhysicalPage: 0xf0,
  MmNumberOfPhysicalPages: 0xf8,
  MmPageSize: 0x138,
  MmHighestUserAddress: 0x1c8,
  MmSystemRangeStart: 0x1d0,
  MmUserProbeAddress: 0x1d8,
  KdPrintCircularBuffer: 0x1e0,
  KdPrintCircularBufferEnd: 0x1e8,
  KdPrintWritePointer: 0x1f0,
  KdPrintRolloverCount: 0x1f8,
  NtBuildLab: 0x208,
  KiProcessorBlock: 0x218,
  CmNtCSDVersion: 0x268,
  MmPhysicalMemoryBlock: 0x270,
  OffsetKThreadNextProcessor: 0x298,
  OffsetKThreadTeb: 0x29a,
  OffsetKThreadKernelStack: 0x29c,
  OffsetKThreadInitialStack: 0x29e,
  OffsetKThreadApcProcess: 0x2a0,
  OffsetKThreadState: 0x2a2,
  SizeEProcess: 0x2a8,
  OffsetEprocessPeb: 0x2aa,
  OffsetEprocessParentCID: 0x2ac,
  OffsetEprocessDirectoryTableBase: 0x2ae,
  SizePrcb: 0x2b0,
  OffsetPrcbDpcRoutine: 0x2b2,
  OffsetPrcbCurrentThread: 0x2b4,
  OffsetPrcbMhz: 0x2b6,
  OffsetPrcbCpuType: 0x2b8,
  OffsetPrcbVendorString: 0x2ba,
  OffsetPrcbProcStateContext: 0x2bc,
  OffsetPrcbNumber: 0x2be,
  SizeEThread: 0x2c0,
  KdPrintCircularBufferPtr: 0x2c8,
  KdPrintBufferSize: 0x2d0,
  KeLoaderBlock: 0x2d8,
  SizePcr: 0x2e0,
  OffsetPcrSelfPcr: 0x2e2,
  OffsetPcrCurrentPrcb: 0x2e4,
  OffsetPcrContainedPrcb: 0x2e6,
  OffsetPrcbProcStateSpecialReg: 0x2f2,
  GdtR0Code: 0x2f4,
  GdtR0Data: 0x2f6,
  GdtR0Pcr: 0x2f8,
  GdtR3Code: 0x2fa,
  GdtR3Data: 0x2fc,
  GdtR3Teb: 0x2fe,
  GdtLdt: 0x300,
  GdtTss: 0x302,
  Gdt64R3CmCode: 0x304,
  Gdt64R3CmTeb: 0x306,
  OffsetPrcbContext: 0x338,
  /** Windows 10 1607+. */
  PteBase: 0x360,
} as const;

/** 'KDBG' as a little-endian ULONG. */
export const KDBG_OWNER_TAG = 0x4742444b;

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
