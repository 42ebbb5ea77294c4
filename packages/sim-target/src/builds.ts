import { EPROCESS_OFFSETS_BY_BUILD, type EprocessWalkOffsets } from '@vmkd/kd-protocol/kernel';

/**
 * The Windows builds the simulator can impersonate. Structure offsets follow the public symbol
 * layouts of each kernel (ntoskrnl's PDB type information as shown by `dt`); the core ones a
 * debugger walks without symbols (EPROCESS UniqueProcessId / ActiveProcessLinks / ImageFileName /
 * DirectoryTableBase, KPCR → KPRCB → CurrentThread, KTHREAD ApcState.Process) are the well-known
 * values. KDDEBUGGER_DATA64 advertises the same offsets, and the simulator lays its objects out with
 * them, so everything a debugger reads is consistent with itself.
 */

/** The EPROCESS fields a symbol-less process walk reads, from kd-protocol's table (one owner). */
function walkOffsets(build: number): EprocessWalkOffsets {
  const offsets = EPROCESS_OFFSETS_BY_BUILD.get(build);
  if (offsets === undefined) throw new Error(`kd-protocol has no EPROCESS offsets for build ${build}`);
  return offsets;
}

export type BuildName =
  | 'win7-sp1-x64'
  | 'win10-1607-x64'
  | 'win10-1803-x64'
  | 'win10-1903-x64'
  | 'win10-2004-x64'
  | 'win10-20h2-x64'
  | 'win10-21h1-x64'
  | 'win10-21h2-x64'
  | 'win10-22h2-x64';

export interface EprocessOffsets {
  readonly size: number;
  readonly directoryTableBase: number;
  readonly uniqueProcessId: number;
  readonly activeProcessLinks: number;
  readonly inheritedFromUniqueProcessId: number;
  readonly peb: number;
  readonly imageFileName: number;
  readonly threadListHead: number;
}

export interface KthreadOffsets {
  /** KTHREAD + ETHREAD size (SizeEThread). */
  readonly ethreadSize: number;
  readonly initialStack: number;
  readonly kernelStack: number;
  /** KTHREAD.ApcState.Process: the thread's current process. */
  readonly apcStateProcess: number;
  readonly teb: number;
  readonly state: number;
  readonly nextProcessor: number;
  /** ETHREAD.Cid (CLIENT_ID: UniqueProcess, UniqueThread). */
  readonly cid: number;
}

export interface ProcessorBlockOffsets {
  /** KPCR.Prcb: the KPRCB embedded in the KPCR. */
  readonly pcrPrcb: number;
  readonly pcrSelf: number;
  readonly pcrCurrentPrcb: number;
  readonly pcrGdtBase: number;
  readonly pcrIdtBase: number;
  readonly pcrSize: number;
  readonly prcbSize: number;
  readonly prcbCurrentThread: number;
  readonly prcbIdleThread: number;
  readonly prcbNumber: number;
  /** KPRCB.ProcessorState: KSPECIAL_REGISTERS, then the CONTEXT frame. */
  readonly prcbProcessorState: number;
  /** Size of KSPECIAL_REGISTERS in memory (the control-space view is always 0xE0 bytes). */
  readonly specialRegistersSize: number;
}

export interface BuildProfile {
  readonly name: BuildName;
  readonly displayName: string;
  /** DBGKD_GET_VERSION64.MinorVersion. */
  readonly buildNumber: number;
  readonly servicePack: number;
  readonly osMajor: number;
  readonly osMinor: number;
  /** nt!NtBuildLab. */
  readonly buildLab: string;
  /** KDDEBUGGER_DATA64 Size for this kernel. */
  readonly kdDebuggerDataSize: number;
  /** GetVersion MaxStateChange / MaxManipulate as this era's stub reports them (spec 2.4). */
  readonly maxStateChange: number;
  readonly maxManipulate: number;
  /** Initial CR4 and the system range start of this era. */
  readonly cr4: bigint;
  readonly mmSystemRangeStart: bigint;
  /** PML4 slot of the page-table self-map (PTE base = sign-extended slot << 39). */
  readonly selfMapIndex: number;
  readonly eprocess: EprocessOffsets;
  readonly kthread: KthreadOffsets;
  readonly processor: ProcessorBlockOffsets;
}

const win7Sp1: BuildProfile = {
  name: 'win7-sp1-x64',
  displayName: 'Windows 7 SP1 x64',
  buildNumber: 7601,
  servicePack: 1,
  osMajor: 6,
  osMinor: 1,
  buildLab: '7601.17514.amd64fre.win7sp1_rtm.101119-1850',
  // Windows 7 grew KDDEBUGGER_DATA64 to 0x340 (ends with OffsetPrcbContext).
  kdDebuggerDataSize: 0x340,
  // DbgKdMaximumManipulate − DbgKdMinimumManipulate of the Windows 7 era (the value spec A.3 shows).
  maxStateChange: 3,
  maxManipulate: 0x31,
  cr4: 0x6f8n,
  mmSystemRangeStart: 0xffff080000000000n,
  // 0xFFFFF680'00000000, the fixed PTE base of Windows 7 x64.
  selfMapIndex: 0x1ed,
  eprocess: {
    ...walkOffsets(7601),
    size: 0x4d0,
    directoryTableBase: 0x28,
    peb: 0x338,
    threadListHead: 0x308,
  },
  kthread: {
    ethreadSize: 0x4a8,
    initialStack: 0x28,
    kernelStack: 0x38,
    apcStateProcess: 0x70,
    teb: 0xb8,
    state: 0x164,
    nextProcessor: 0x1f0,
    cid: 0x3b0,
  },
  processor: {
    pcrPrcb: 0x180,
    pcrSelf: 0x18,
    pcrCurrentPrcb: 0x20,
    pcrGdtBase: 0x00,
    pcrIdtBase: 0x38,
    pcrSize: 0x4e80,
    prcbSize: 0x4d00,
    prcbCurrentThread: 0x08,
    prcbIdleThread: 0x18,
    prcbNumber: 0x24,
    prcbProcessorState: 0x40,
    specialRegistersSize: 0xe0,
  },
};

/** The EPROCESS and KTHREAD/ETHREAD fields that move between Windows 10 kernels. */
interface Win10Layout {
  readonly eprocess: EprocessOffsets;
  readonly kthread: KthreadOffsets;
}

/**
 * The 19041 kernel (2004) is shared by 20H2, 21H1, 21H2 and 22H2: same layouts.
 * EPROCESS/ETHREAD offsets from the kernel's public type information (`dt nt!_EPROCESS`).
 */
const layout19041: Win10Layout = {
  eprocess: {
    ...walkOffsets(19041),
    size: 0xa40,
    directoryTableBase: 0x28,
    peb: 0x550,
    threadListHead: 0x5e0,
  },
  kthread: {
    ethreadSize: 0x898,
    initialStack: 0x28,
    kernelStack: 0x58,
    apcStateProcess: 0xb8,
    teb: 0xf0,
    state: 0x184,
    nextProcessor: 0x210,
    cid: 0x478,
  },
};

/**
 * Builds radare2 knows (its winkd profiles: 14393, 17134, 18362 SP0 x64, KD spec 4.1 item 4);
 * 18362 is the kernel `vmkd route sim://` and `vmkd sim` serve by default (decision 0031). The
 * offsets radare2 walks with (UniqueProcessId, ActiveProcessLinks, Peb, ImageFileName,
 * ThreadListHead, KPROCESS.DirectoryTableBase, ETHREAD.Cid) are the ones those kernels' symbols
 * give, so `dp` on the simulated kernel finds what it would on the real one. The structure sizes
 * are the kernels' sizeof values as far as public type dumps show them (uncertain to the byte for
 * ETHREAD; nothing a debugger walks depends on them).
 */
const layout14393: Win10Layout = {
  eprocess: {
    ...walkOffsets(14393),
    size: 0x7a8,
    directoryTableBase: 0x28,
    peb: 0x3f8,
    threadListHead: 0x488,
  },
  kthread: { ethreadSize: 0x6b8, initialStack: 0x28, kernelStack: 0x58, apcStateProcess: 0xb8, teb: 0xf0, state: 0x184, nextProcessor: 0x214, cid: 0x630 },
};

const layout17134: Win10Layout = {
  eprocess: {
    ...walkOffsets(17134),
    size: 0x848,
    directoryTableBase: 0x28,
    peb: 0x3f8,
    threadListHead: 0x488,
  },
  kthread: { ethreadSize: 0x810, initialStack: 0x28, kernelStack: 0x58, apcStateProcess: 0xb8, teb: 0xf0, state: 0x184, nextProcessor: 0x214, cid: 0x638 },
};

const layout18362: Win10Layout = {
  eprocess: {
    ...walkOffsets(18362),
    size: 0x880,
    directoryTableBase: 0x28,
    peb: 0x3f8,
    threadListHead: 0x488,
  },
  kthread: { ethreadSize: 0x810, initialStack: 0x28, kernelStack: 0x58, apcStateProcess: 0xb8, teb: 0xf0, state: 0x184, nextProcessor: 0x214, cid: 0x648 },
};

function win10(name: BuildName, displayName: string, buildNumber: number, buildLab: string, structs: Win10Layout = layout19041): BuildProfile {
  return {
    name,
    displayName,
    buildNumber,
    servicePack: 0,
    osMajor: 10,
    osMinor: 0,
    buildLab,
    // Windows 10 from 1607 on: KDDEBUGGER_DATA64 ends with PteBase at 0x360.
    kdDebuggerDataSize: 0x368,
    maxStateChange: 3,
    // Windows 10 stubs report a larger manipulate range (spec 2.4 observed 0x59).
    maxManipulate: 0x59,
    cr4: 0x350ef8n,
    mmSystemRangeStart: 0xffff800000000000n,
    // Windows 10 randomises the self-map slot at boot; this one gives PTE base 0xFFFFD180'00000000.
    selfMapIndex: 0x1a3,
    eprocess: structs.eprocess,
    kthread: structs.kthread,
    processor: {
      pcrPrcb: 0x180,
      pcrSelf: 0x18,
      pcrCurrentPrcb: 0x20,
      pcrGdtBase: 0x00,
      pcrIdtBase: 0x38,
      pcrSize: 0xa000,
      prcbSize: 0x9e80,
      prcbCurrentThread: 0x08,
      prcbIdleThread: 0x18,
      prcbNumber: 0x24,
      prcbProcessorState: 0x40,
      specialRegistersSize: 0xf0,
    },
  };
}

const profiles: Readonly<Record<BuildName, BuildProfile>> = {
  'win7-sp1-x64': win7Sp1,
  'win10-1607-x64': win10('win10-1607-x64', 'Windows 10 1607 x64', 14393, '14393.0.amd64fre.rs1_release.160715-1616', layout14393),
  'win10-1803-x64': win10('win10-1803-x64', 'Windows 10 1803 x64', 17134, '17134.1.amd64fre.rs4_release.180410-1804', layout17134),
  'win10-1903-x64': win10('win10-1903-x64', 'Windows 10 1903 x64', 18362, '18362.1.amd64fre.19h1_release.190318-1202', layout18362),
  'win10-2004-x64': win10('win10-2004-x64', 'Windows 10 2004 x64', 19041, '19041.1.amd64fre.vb_release.191206-1406'),
  'win10-20h2-x64': win10('win10-20h2-x64', 'Windows 10 20H2 x64', 19042, '19041.1.amd64fre.vb_release.191206-1406'),
  'win10-21h1-x64': win10('win10-21h1-x64', 'Windows 10 21H1 x64', 19043, '19041.1.amd64fre.vb_release.191206-1406'),
  'win10-21h2-x64': win10('win10-21h2-x64', 'Windows 10 21H2 x64', 19044, '19041.1.amd64fre.vb_release.191206-1406'),
  'win10-22h2-x64': win10('win10-22h2-x64', 'Windows 10 22H2 x64', 19045, '19041.1.amd64fre.vb_release.191206-1406'),
};

export const buildNames: readonly BuildName[] = Object.keys(profiles) as BuildName[];

export function buildProfile(name: BuildName): BuildProfile {
  return profiles[name];
}

export function isBuildName(name: unknown): name is BuildName {
  return typeof name === 'string' && Object.hasOwn(profiles, name);
}
