import { VmkdError, type DebuggerSession, type GetVersion64 } from '@vmkd/kd-protocol';
import { readKdDebuggerData as readBlock, walkActiveProcesses, walkLoadedModules, type EprocessWalkOffsets, type KernelMemoryReader } from '@vmkd/kd-protocol/kernel';
import { CliErrorCode } from '../errors.js';

/**
 * Reading a Windows kernel the way a debugger without symbols does, with kd-protocol's kernel
 * walk: from GetVersion's DebuggerDataList to KDDEBUGGER_DATA64, then along the kernel's own
 * linked lists. The demo wants every read whole, so a short one is an error here.
 */

/** The demo prints at most this many list entries. */
const MAX_LIST_ENTRIES = 256;

export async function readExact(session: DebuggerSession, address: bigint, length: number): Promise<Uint8Array> {
  const result = await session.readVirtual(address, length);
  if (result.bytesRead < length) {
    throw new VmkdError(CliErrorCode.Internal, `could not read ${length} bytes at 0x${address.toString(16)} (got ${result.bytesRead}, status 0x${result.status.toString(16)})`, {
      details: { address: `0x${address.toString(16)}`, length, bytesRead: result.bytesRead },
    });
  }
  return result.data;
}

const exactReader =
  (session: DebuggerSession): KernelMemoryReader =>
  (address, length) =>
    readExact(session, address, length);

export interface KdDebuggerData {
  readonly address: bigint;
  readonly ownerTag: string;
  readonly size: number;
  readonly kernBase: bigint;
  readonly psLoadedModuleList: bigint;
  readonly psActiveProcessHead: bigint;
  readonly ntBuildLab: string;
  /** The first 64 bytes, for display. */
  readonly head: Uint8Array;
}

export async function readKdDebuggerData(session: DebuggerSession, version: GetVersion64): Promise<KdDebuggerData> {
  const block = await readBlock(exactReader(session), version.debuggerDataList);
  // The exact reader throws on a short read, so the block is there; its tag says whether it is the kernel's.
  if (block === undefined || block.ownerTag !== 'KDBG') {
    throw new VmkdError(CliErrorCode.Internal, `no KDDEBUGGER_DATA64 at 0x${(block?.address ?? 0n).toString(16)} (owner tag ${JSON.stringify(block?.ownerTag)})`);
  }
  const ntBuildLab = block.ntBuildLab === 0n ? '' : Buffer.from(await readExact(session, block.ntBuildLab, 64)).toString('latin1').replace(/\0.*$/s, '');
  return {
    address: block.address,
    ownerTag: block.ownerTag,
    size: block.size,
    kernBase: block.kernBase,
    psLoadedModuleList: block.psLoadedModuleList,
    psActiveProcessHead: block.psActiveProcessHead,
    ntBuildLab,
    head: block.bytes.subarray(0, 64),
  };
}

export interface WalkedModule {
  readonly base: bigint;
  readonly size: number;
  readonly name: string;
}

/** PsLoadedModuleList → KLDR_DATA_TABLE_ENTRY (InLoadOrderLinks at offset 0). */
export async function walkModules(session: DebuggerSession, listHead: bigint): Promise<WalkedModule[]> {
  const modules = await walkLoadedModules(exactReader(session), listHead, { maxEntries: MAX_LIST_ENTRIES });
  return modules.map(({ base, size, name }) => ({ base, size, name }));
}

export interface WalkedProcess {
  readonly eprocess: bigint;
  readonly pid: number;
  readonly parentPid: number;
  readonly name: string;
}

/** PsActiveProcessHead → EPROCESS.ActiveProcessLinks, with the build's EPROCESS offsets (what symbols would give). */
export async function walkProcesses(session: DebuggerSession, listHead: bigint, offsets: EprocessWalkOffsets): Promise<WalkedProcess[]> {
  const { uniqueProcessId, activeProcessLinks, inheritedFromUniqueProcessId, imageFileName } = offsets;
  const processes = await walkActiveProcesses(exactReader(session), listHead, { uniqueProcessId, activeProcessLinks, inheritedFromUniqueProcessId, imageFileName }, { maxEntries: MAX_LIST_ENTRIES });
  return processes.map(({ eprocess, pid, parentPid, name }) => ({ eprocess, pid, parentPid, name }));
}
