import { VmkdError, type DebuggerSession, type GetVersion64 } from '@vmkd/kd-protocol';
import type { EprocessOffsets } from '@vmkd/sim-target';
import { CliErrorCode } from '../errors.js';

/**
 * Reading a Windows kernel the way a debugger without symbols does: from GetVersion's
 * DebuggerDataList to KDDEBUGGER_DATA64, then along the kernel's own linked lists. Every pointer
 * comes from target memory; each walk is bounded and stops on a cycle.
 */

const MAX_LIST_ENTRIES = 256;
/** KDDEBUGGER_DATA64 fields used here (public layout, wdbgexts.h). */
const KDBG = { OwnerTag: 0x10, Size: 0x14, KernBase: 0x18, PsLoadedModuleList: 0x48, PsActiveProcessHead: 0x50, NtBuildLab: 0x208 } as const;
/** KLDR_DATA_TABLE_ENTRY on x64. */
const LDR = { DllBase: 0x30, SizeOfImage: 0x40, FullDllName: 0x48, BaseDllName: 0x58 } as const;

export async function readExact(session: DebuggerSession, address: bigint, length: number): Promise<Uint8Array> {
  const result = await session.readVirtual(address, length);
  if (result.bytesRead < length) {
    throw new VmkdError(CliErrorCode.Internal, `could not read ${length} bytes at 0x${address.toString(16)} (got ${result.bytesRead}, status 0x${result.status.toString(16)})`, {
      details: { address: `0x${address.toString(16)}`, length, bytesRead: result.bytesRead },
    });
  }
  return result.data;
}

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

async function readPointer(session: DebuggerSession, address: bigint): Promise<bigint> {
  return view(await readExact(session, address, 8)).getBigUint64(0, true);
}

async function readUnicodeString(session: DebuggerSession, address: bigint): Promise<string> {
  const header = view(await readExact(session, address, 16));
  const length = Math.min(header.getUint16(0, true), 512);
  if (length === 0) return '';
  return Buffer.from(await readExact(session, header.getBigUint64(8, true), length)).toString('utf16le');
}

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
  // DebuggerDataList is a LIST_ENTRY64 whose Flink is the first KDDEBUGGER_DATA64 (its header starts with that list entry).
  const address = await readPointer(session, version.debuggerDataList);
  const block = await readExact(session, address, 0x210);
  const v = view(block);
  const ownerTag = Buffer.from(block.subarray(KDBG.OwnerTag, KDBG.OwnerTag + 4)).toString('latin1');
  if (ownerTag !== 'KDBG') {
    throw new VmkdError(CliErrorCode.Internal, `no KDDEBUGGER_DATA64 at 0x${address.toString(16)} (owner tag ${JSON.stringify(ownerTag)})`);
  }
  const buildLabAddress = v.getBigUint64(KDBG.NtBuildLab, true);
  const buildLab = buildLabAddress === 0n ? '' : Buffer.from(await readExact(session, buildLabAddress, 64)).toString('latin1').replace(/\0.*$/s, '');
  return {
    address,
    ownerTag,
    size: v.getUint32(KDBG.Size, true),
    kernBase: v.getBigUint64(KDBG.KernBase, true),
    psLoadedModuleList: v.getBigUint64(KDBG.PsLoadedModuleList, true),
    psActiveProcessHead: v.getBigUint64(KDBG.PsActiveProcessHead, true),
    ntBuildLab: buildLab,
    head: block.subarray(0, 64),
  };
}

/** Follows a LIST_ENTRY64 from its head; yields each entry's address (Flink values). */
async function* listEntries(session: DebuggerSession, head: bigint): AsyncGenerator<bigint> {
  const seen = new Set<bigint>([head]);
  let entry = await readPointer(session, head);
  while (!seen.has(entry) && seen.size <= MAX_LIST_ENTRIES) {
    seen.add(entry);
    yield entry;
    entry = await readPointer(session, entry);
  }
}

export interface WalkedModule {
  readonly base: bigint;
  readonly size: number;
  readonly name: string;
}

/** PsLoadedModuleList → KLDR_DATA_TABLE_ENTRY (InLoadOrderLinks at offset 0). */
export async function walkModules(session: DebuggerSession, listHead: bigint): Promise<WalkedModule[]> {
  const modules: WalkedModule[] = [];
  for await (const entry of listEntries(session, listHead)) {
    const fields = view(await readExact(session, entry + BigInt(LDR.DllBase), LDR.BaseDllName + 16 - LDR.DllBase));
    const base = fields.getBigUint64(0, true);
    const size = fields.getUint32(LDR.SizeOfImage - LDR.DllBase, true);
    modules.push({ base, size, name: await readUnicodeString(session, entry + BigInt(LDR.BaseDllName)) });
  }
  return modules;
}

export interface WalkedProcess {
  readonly eprocess: bigint;
  readonly pid: number;
  readonly parentPid: number;
  readonly name: string;
}

/** PsActiveProcessHead → EPROCESS.ActiveProcessLinks, with the build's EPROCESS offsets (what symbols would give). */
export async function walkProcesses(session: DebuggerSession, listHead: bigint, offsets: EprocessOffsets): Promise<WalkedProcess[]> {
  const processes: WalkedProcess[] = [];
  for await (const links of listEntries(session, listHead)) {
    const eprocess = links - BigInt(offsets.activeProcessLinks);
    const pid = view(await readExact(session, eprocess + BigInt(offsets.uniqueProcessId), 8)).getBigUint64(0, true);
    const parent = view(await readExact(session, eprocess + BigInt(offsets.inheritedFromUniqueProcessId), 8)).getBigUint64(0, true);
    const name = Buffer.from(await readExact(session, eprocess + BigInt(offsets.imageFileName), 15)).toString('latin1').replace(/\0.*$/s, '');
    processes.push({ eprocess, pid: Number(pid), parentPid: Number(parent), name });
  }
  return processes;
}
