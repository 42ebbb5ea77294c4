import type { DebuggerSession, GetVersion64 } from '@vmkd/kd-protocol';
import { EPROCESS_OFFSETS_BY_BUILD, readKdDebuggerData, sessionMemoryReader, walkActiveProcesses, walkLoadedModules } from '@vmkd/kd-protocol/kernel';
import type { KernelModule, KernelProcess } from '@vmkd/kd-protocol/kernel';

export type { KernelModule, KernelProcess };

/**
 * What a debugger without symbols can read of a Windows kernel, through kd-protocol's one kernel
 * walk: GetVersion names PsLoadedModuleList and (through DebuggerDataList) KDDEBUGGER_DATA64,
 * whose PsActiveProcessHead starts the process list. A gdb client gets a shorter answer from a
 * damaged list or an unreadable entry, never an error or a hang: short reads end the walk.
 */

/** PsLoadedModuleList → KLDR_DATA_TABLE_ENTRY: base, size and base name of every loaded kernel module. */
export function walkModules(session: DebuggerSession, version: GetVersion64): Promise<KernelModule[]> {
  return walkLoadedModules(sessionMemoryReader(session), version.psLoadedModuleList);
}

/** PsActiveProcessHead → EPROCESS.ActiveProcessLinks; undefined when the build's EPROCESS offsets are not known. */
export async function walkProcesses(session: DebuggerSession, version: GetVersion64): Promise<KernelProcess[] | undefined> {
  const offsets = EPROCESS_OFFSETS_BY_BUILD.get(version.minorVersion);
  if (offsets === undefined) return undefined;
  const read = sessionMemoryReader(session);
  const data = await readKdDebuggerData(read, version.debuggerDataList);
  if (data === undefined || data.ownerTag !== 'KDBG') return [];
  return walkActiveProcesses(read, data.psActiveProcessHead, offsets);
}
