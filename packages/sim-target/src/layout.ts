import type { BuildProfile } from './builds.js';

/**
 * Where the simulated kernel keeps things. The default profile (kernBase 0xfffff80000000000)
 * reproduces the addresses of the minimal target radare2 accepts (KD spec 4.1 / appendix A.3):
 * DebuggerDataList at +0x100000, KDDEBUGGER_DATA64 at +0x200000, CmNtCSDVersion at +0x300000,
 * DbgBreakPointWithStatus (`cc c3`) at +0x400000, CPU 0's thread at +0x500000,
 * PsLoadedModuleList at +0x600000. Everything else is placed around them.
 */
export interface DataRegion {
  /** Virtual address of the region in the physmap window. */
  readonly virtualBase: bigint;
  /** Physical address of the region. */
  readonly physicalBase: bigint;
  /** Bytes of formula content (RAM past the kernel's reserve). */
  readonly size: bigint;
}

export interface SimLayout {
  readonly kernBase: bigint;
  readonly ntImageSize: number;
  /** nt!KdpDebuggerDataListHead: the LIST_ENTRY64 GetVersion points at. */
  readonly debuggerDataList: bigint;
  /** nt!KdDebuggerDataBlock (KDDEBUGGER_DATA64). */
  readonly kdDebuggerDataBlock: bigint;
  /** A page of kernel variables; starts with nt!CmNtCSDVersion. */
  readonly globals: bigint;
  readonly cmNtCsdVersion: bigint;
  /** nt!DbgBreakPointWithStatus = RtlpBreakWithStatusInstruction: `int3; ret`. */
  readonly breakpointWithStatus: bigint;
  /** The idle loop every CPU runs: NOPs from here … */
  readonly idleLoopStart: bigint;
  /** … to a `jmp idleLoopStart` at this address. */
  readonly idleLoopJump: bigint;
  /** nt!KeBugCheckEx: a breakpoint at +0x10 (where a bugcheck with a debugger attached stops), then `jmp $`. */
  readonly keBugCheckEx: bigint;
  /** nt!DbgPrint (a `ret`: DbgPrint output is produced by the simulator, not by running code). */
  readonly dbgPrint: bigint;
  /** KUSER_SHARED_DATA, at the fixed kernel address of every x64 Windows. */
  readonly kuserSharedData: bigint;
  /** System call entry points (MSR LSTAR / CSTAR); inside nt's code page. */
  readonly systemCall64: bigint;
  readonly systemCall32: bigint;
  /** nt!KiInitialThread: CPU 0's idle thread (the thread of the first state change). */
  readonly initialThread: bigint;
  /** nt!KiInitialProcess: the Idle process (PID 0, not on the active process list). */
  readonly idleProcess: bigint;
  readonly psLoadedModuleList: bigint;
  readonly psActiveProcessHead: bigint;
  /** nt!KiProcessorBlock: an array of KPRCB pointers, one per CPU. */
  readonly kiProcessorBlock: bigint;
  /** nt!KiInitialPCR: CPU 0's KPCR. */
  readonly initialPcr: bigint;
  /** nt!KdPrintCircularBuffer (DbgPrint text is logged here as on Windows). */
  readonly printBuffer: bigint;
  readonly printBufferSize: number;
  /** All of RAM is mapped linearly here: virtual = physmapBase + physical. 512 GiB-aligned. */
  readonly physmapBase: bigint;
  /** Physical pages below this are the kernel's reserve (page tables, images, pool objects). */
  readonly kernelReserveEnd: number;
  readonly dataRegion: DataRegion;
  /** Where driver images are loaded (the system PTE range of the era). */
  readonly driverBase: bigint;
}

export const DEFAULT_KERN_BASE = 0xfffff80000000000n;
/**
 * Physical memory the kernel keeps for itself: page tables, pool, and every module's whole image
 * (nt alone is 8 MiB). 28 MiB leaves 4 MiB of formula data at the 32 MiB minimum.
 */
const KERNEL_RESERVE = 28 * 1024 * 1024;

export function computeLayout(profile: BuildProfile, kernBase: bigint, memorySize: number): SimLayout {
  const k = kernBase;
  // Windows 7 puts nonpaged pool at 0xfffffa80…; Windows 10 randomises it in the 0xffff… range.
  const physmapBase = profile.osMajor >= 10 ? 0xffffa00000000000n : 0xfffffa8000000000n;
  const dataPhysical = BigInt(KERNEL_RESERVE);
  return {
    kernBase: k,
    ntImageSize: 0x800000,
    debuggerDataList: k + 0x100000n,
    kdDebuggerDataBlock: k + 0x200000n,
    globals: k + 0x300000n,
    cmNtCsdVersion: k + 0x300000n,
    breakpointWithStatus: k + 0x400000n,
    idleLoopStart: k + 0x400010n,
    idleLoopJump: k + 0x400ffbn,
    keBugCheckEx: k + 0x401000n,
    dbgPrint: k + 0x401100n,
    kuserSharedData: 0xfffff78000000000n,
    systemCall64: k + 0x400800n,
    systemCall32: k + 0x400840n,
    initialThread: k + 0x500000n,
    idleProcess: k + 0x501000n,
    psLoadedModuleList: k + 0x600000n,
    psActiveProcessHead: k + 0x600010n,
    kiProcessorBlock: k + 0x600100n,
    initialPcr: k + 0x700000n,
    printBuffer: k + 0x720000n,
    printBufferSize: 0x4000,
    physmapBase,
    kernelReserveEnd: KERNEL_RESERVE,
    dataRegion: {
      virtualBase: physmapBase + dataPhysical,
      physicalBase: dataPhysical,
      size: BigInt(memorySize) - dataPhysical,
    },
    driverBase: profile.osMajor >= 10 ? k + 0x8000000n : 0xfffff88000c00000n,
  };
}

/** Offsets of the variables on the globals page (nt's .data in a real kernel). */
export const GlobalOffset = {
  CmNtCSDVersion: 0x00,
  MmNumberOfPhysicalPages: 0x08,
  MmHighestPhysicalPage: 0x10,
  MmLowestPhysicalPage: 0x18,
  MmSystemRangeStart: 0x20,
  MmHighestUserAddress: 0x28,
  MmUserProbeAddress: 0x30,
  MmPhysicalMemoryBlock: 0x38,
  KdPrintWritePointer: 0x40,
  KdPrintRolloverCount: 0x48,
  KdPrintCircularBufferPtr: 0x50,
  KdPrintBufferSize: 0x58,
  PsInitialSystemProcess: 0x60,
  KeNumberProcessors: 0x68,
  MmPageSize: 0x70,
  PspCidTable: 0x78,
  /** A counter the idle loop increments (`inc qword [rip+…]`): the memory write a data watchpoint can catch. */
  IdleLoopCount: 0x80,
  /** nt!KiBugCheckData: the bugcheck code and its four parameters (ULONG_PTR[5]). */
  KiBugCheckData: 0x88,
  /** nt!NtBuildNumber: the build number with 0xF0000000 (free build) on top. */
  NtBuildNumber: 0xb0,
  /** nt!KdDebuggerEnabled (BOOLEAN). */
  KdDebuggerEnabled: 0xb4,
  /** NUL-terminated ANSI nt!NtBuildLab. */
  NtBuildLab: 0x100,
  /** PHYSICAL_MEMORY_DESCRIPTOR: NumberOfRuns u32, NumberOfPages u64, Run[] {BasePage, PageCount}. */
  PhysicalMemoryDescriptor: 0x200,
} as const;

export interface ModuleSpec {
  readonly baseName: string;
  readonly fullName: string;
  readonly size: number;
  readonly isDll: boolean;
  /** Names in the export directory (each pointing into .text). */
  readonly exports: readonly string[];
  /** PDB file name in the CodeView record. */
  readonly pdbName: string;
}

/** The drivers loaded after nt, hal and the KD transport, in load order. */
export const driverModules: readonly ModuleSpec[] = [
  { baseName: 'mcupdate_GenuineIntel.dll', fullName: '\\SystemRoot\\system32\\mcupdate_GenuineIntel.dll', size: 0x8d000, isDll: true, exports: ['McUpdateMicrocode'], pdbName: 'mcupdate_GenuineIntel.pdb' },
  { baseName: 'PSHED.dll', fullName: '\\SystemRoot\\system32\\PSHED.dll', size: 0x14000, isDll: true, exports: ['PshedAllocateMemory', 'PshedFreeMemory', 'PshedRegisterPlugin'], pdbName: 'pshed.pdb' },
  { baseName: 'CLFS.SYS', fullName: '\\SystemRoot\\system32\\CLFS.SYS', size: 0x5e000, isDll: false, exports: ['ClfsCreateLogFile', 'ClfsCloseLogFileObject', 'ClfsReadLogRecord'], pdbName: 'clfs.pdb' },
  { baseName: 'CI.dll', fullName: '\\SystemRoot\\system32\\CI.dll', size: 0xc0000, isDll: true, exports: ['CiInitialize', 'CiValidateFileObject'], pdbName: 'ci.pdb' },
  { baseName: 'Wdf01000.sys', fullName: '\\SystemRoot\\system32\\drivers\\Wdf01000.sys', size: 0xa4000, isDll: false, exports: ['WdfVersionBind', 'WdfVersionUnbind'], pdbName: 'Wdf01000.pdb' },
  { baseName: 'ACPI.sys', fullName: '\\SystemRoot\\system32\\drivers\\ACPI.sys', size: 0x57000, isDll: false, exports: ['AcpiGetRegisterInfo'], pdbName: 'acpi.pdb' },
  { baseName: 'pci.sys', fullName: '\\SystemRoot\\system32\\drivers\\pci.sys', size: 0x33000, isDll: false, exports: ['PciIdeXInitialize'], pdbName: 'pci.pdb' },
  { baseName: 'disk.sys', fullName: '\\SystemRoot\\system32\\drivers\\disk.sys', size: 0x16000, isDll: false, exports: ['DiskDriverEntry'], pdbName: 'disk.pdb' },
  { baseName: 'Ntfs.sys', fullName: '\\SystemRoot\\System32\\Drivers\\Ntfs.sys', size: 0x1a3000, isDll: false, exports: ['NtfsDriverEntry'], pdbName: 'ntfs.pdb' },
  { baseName: 'tcpip.sys', fullName: '\\SystemRoot\\System32\\drivers\\tcpip.sys', size: 0x1fd000, isDll: false, exports: ['IPDisableSniffer', 'IppInspectLocalDatagramsIn', 'TcpipInitialize'], pdbName: 'tcpip.pdb' },
];

export interface ProcessSpec {
  readonly pid: number;
  readonly parentPid: number;
  readonly imageFileName: string;
}

/** The processes on PsActiveProcessHead, in creation order. */
export const processList: readonly ProcessSpec[] = [
  { pid: 4, parentPid: 0, imageFileName: 'System' },
  { pid: 0x10c, parentPid: 4, imageFileName: 'smss.exe' },
  { pid: 0x168, parentPid: 0x15c, imageFileName: 'csrss.exe' },
  { pid: 0x1a0, parentPid: 0x15c, imageFileName: 'wininit.exe' },
  { pid: 0x1f8, parentPid: 0x1a0, imageFileName: 'services.exe' },
  { pid: 0x208, parentPid: 0x1a0, imageFileName: 'lsass.exe' },
  { pid: 0x28c, parentPid: 0x1f8, imageFileName: 'svchost.exe' },
  { pid: 0x5d4, parentPid: 0x5b8, imageFileName: 'explorer.exe' },
];
