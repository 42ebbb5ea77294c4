import type { KernelMemoryReader } from './memory-reader.js';

/**
 * KDDEBUGGER_DATA64 field offsets (x64; the layout the public debugger extension header
 * documents: a DBGKD_DEBUG_DATA_HEADER64, then 64-bit addresses of kernel variables, with 16-bit
 * structure offsets from Windows Server 2003 on). KD spec 2.4 lists the ones radare2 reads. The
 * simulator writes the block with these, the debugger-side walks and the dump writer read it.
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

/** 'KDBG' as a little-endian ULONG: DBGKD_DEBUG_DATA_HEADER64.OwnerTag of the kernel's block. */
export const KDBG_OWNER_TAG = 0x4742444b;

/**
 * What a symbol-less debugger reads from KDDEBUGGER_DATA64 first: the header and the addresses
 * every walk starts from. Addresses of kernel variables, not their values (NtBuildLab and
 * CmNtCSDVersion point at the string and the ULONG).
 */
export interface KdDebuggerData {
  readonly address: bigint;
  /** The owner tag as text; 'KDBG' for the kernel's block. */
  readonly ownerTag: string;
  readonly size: number;
  readonly kernBase: bigint;
  readonly paeEnabled: number;
  readonly psLoadedModuleList: bigint;
  readonly psActiveProcessHead: bigint;
  readonly ntBuildLab: bigint;
  readonly cmNtCSDVersion: bigint;
  /** The bytes read (through CmNtCSDVersion's pointer), for display and further fields. */
  readonly bytes: Uint8Array;
}

/** How much of the block is read: everything up to and including MmPhysicalMemoryBlock's pointer. */
const READ_LENGTH = KdDebuggerDataOffset.MmPhysicalMemoryBlock;

/**
 * Reads the KDDEBUGGER_DATA64 that GetVersion's DebuggerDataList leads to (spec 2.4: the list
 * head's Flink is the block, whose header starts with that list entry). Undefined when the
 * pointer or the block cannot be read; the owner tag is returned as found, so a caller decides
 * what a block that is not 'KDBG' means.
 */
export async function readKdDebuggerData(read: KernelMemoryReader, debuggerDataList: bigint): Promise<KdDebuggerData | undefined> {
  const head = await read(debuggerDataList, 8);
  if (head === undefined) return undefined;
  const address = viewOf(head).getBigUint64(0, true);
  const bytes = await read(address, READ_LENGTH);
  if (bytes === undefined) return undefined;
  const v = viewOf(bytes);
  const K = KdDebuggerDataOffset;
  return {
    address,
    ownerTag: String.fromCharCode(...bytes.subarray(K.OwnerTag, K.OwnerTag + 4)),
    size: v.getUint32(K.Size, true),
    kernBase: v.getBigUint64(K.KernBase, true),
    paeEnabled: v.getUint16(K.PaeEnabled, true),
    psLoadedModuleList: v.getBigUint64(K.PsLoadedModuleList, true),
    psActiveProcessHead: v.getBigUint64(K.PsActiveProcessHead, true),
    ntBuildLab: v.getBigUint64(K.NtBuildLab, true),
    cmNtCSDVersion: v.getBigUint64(K.CmNtCSDVersion, true),
    bytes,
  };
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
