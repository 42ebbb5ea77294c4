import type { KernelMemoryReader } from './memory-reader.js';
import { walkListEntries, type ListWalkOptions } from './list-entry.js';

/**
 * The EPROCESS fields a process walk reads. They move between builds; a debugger with symbols
 * takes them from `dt nt!_EPROCESS`, one without from a table like EPROCESS_OFFSETS_BY_BUILD.
 */
export interface EprocessWalkOffsets {
  readonly uniqueProcessId: number;
  readonly activeProcessLinks: number;
  readonly inheritedFromUniqueProcessId: number;
  readonly imageFileName: number;
  /** KPROCESS.DirectoryTableBase; read only when given. */
  readonly directoryTableBase?: number;
}

const win7: EprocessWalkOffsets = { uniqueProcessId: 0x180, activeProcessLinks: 0x188, inheritedFromUniqueProcessId: 0x290, imageFileName: 0x2e0 };
const win10v19041: EprocessWalkOffsets = { uniqueProcessId: 0x440, activeProcessLinks: 0x448, inheritedFromUniqueProcessId: 0x540, imageFileName: 0x5a8 };

/**
 * EPROCESS offsets of x64 kernels by build number (GetVersion's MinorVersion), as the public
 * symbols of those builds give them. A build not listed has no symbol-less process walk rather
 * than a guess. The simulator lays its kernels out with these.
 */
export const EPROCESS_OFFSETS_BY_BUILD: ReadonlyMap<number, EprocessWalkOffsets> = new Map([
  [7600, win7],
  [7601, win7],
  [14393, { uniqueProcessId: 0x2e8, activeProcessLinks: 0x2f0, inheritedFromUniqueProcessId: 0x3e0, imageFileName: 0x450 }],
  [17134, { uniqueProcessId: 0x2e0, activeProcessLinks: 0x2e8, inheritedFromUniqueProcessId: 0x3e0, imageFileName: 0x450 }],
  [18362, { uniqueProcessId: 0x2e8, activeProcessLinks: 0x2f0, inheritedFromUniqueProcessId: 0x3e8, imageFileName: 0x450 }],
  // 19041 (2004) is the kernel of 20H2, 21H1, 21H2 and 22H2 too.
  [19041, win10v19041],
  [19042, win10v19041],
  [19043, win10v19041],
  [19044, win10v19041],
  [19045, win10v19041],
]);

/** EPROCESS.ImageFileName is a 15-byte ANSI array. */
const IMAGE_FILE_NAME_LENGTH = 15;

export interface KernelProcess {
  readonly eprocess: bigint;
  readonly pid: number;
  readonly parentPid: number;
  /** ImageFileName up to its first NUL. */
  readonly name: string;
  /** KPROCESS.DirectoryTableBase, when the offsets name it. */
  readonly directoryTableBase?: bigint;
}

/**
 * PsActiveProcessHead → EPROCESS.ActiveProcessLinks: pid, parent pid and image name of every
 * process. A process whose fields cannot be read ends the walk.
 */
export async function walkActiveProcesses(read: KernelMemoryReader, listHead: bigint, offsets: EprocessWalkOffsets, options: ListWalkOptions = {}): Promise<KernelProcess[]> {
  const { entries } = await walkListEntries(read, listHead, options);
  const processes: KernelProcess[] = [];
  for (const links of entries) {
    const eprocess = links - BigInt(offsets.activeProcessLinks);
    const pid = await u64(read, eprocess + BigInt(offsets.uniqueProcessId));
    const parent = await u64(read, eprocess + BigInt(offsets.inheritedFromUniqueProcessId));
    const name = await read(eprocess + BigInt(offsets.imageFileName), IMAGE_FILE_NAME_LENGTH);
    if (pid === undefined || parent === undefined || name === undefined) break;
    const end = name.indexOf(0);
    const process: KernelProcess = { eprocess, pid: Number(pid), parentPid: Number(parent), name: String.fromCharCode(...name.subarray(0, end < 0 ? name.length : end)) };
    if (offsets.directoryTableBase === undefined) {
      processes.push(process);
      continue;
    }
    const directoryTableBase = await u64(read, eprocess + BigInt(offsets.directoryTableBase));
    if (directoryTableBase === undefined) break;
    processes.push({ ...process, directoryTableBase });
  }
  return processes;
}

async function u64(read: KernelMemoryReader, address: bigint): Promise<bigint | undefined> {
  const b = await read(address, 8);
  return b === undefined ? undefined : new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}
