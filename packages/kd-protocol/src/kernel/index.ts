/**
 * `@vmkd/kd-protocol/kernel`: the Windows kernel's structures as a debugger without symbols reads
 * them (CONTEXT and KSPECIAL_REGISTERS, KDDEBUGGER_DATA64, loader entries, EPROCESS by build) and
 * the one walk over them, pure logic over an injected memory reader.
 */
export { Amd64ContextOffset, Amd64SpecialRegisterOffset, X86ContextOffset } from '../api/context.js';
export { KernelWalkErrorCode } from './errors.js';
export { KDBG_OWNER_TAG, KdDebuggerDataOffset, readKdDebuggerData } from './kd-debugger-data.js';
export type { KdDebuggerData } from './kd-debugger-data.js';
export { DEFAULT_MAX_LIST_ENTRIES, ListEntry64Offset, walkListEntries } from './list-entry.js';
export type { ListWalk, ListWalkEnd, ListWalkOptions } from './list-entry.js';
export { KLDR_DATA_TABLE_ENTRY_SIZE, KldrDataTableEntryOffset, UnicodeString64Offset, walkLoadedModules } from './loaded-modules.js';
export type { KernelModule, ModuleWalkOptions } from './loaded-modules.js';
export { sessionMemoryReader } from './memory-reader.js';
export type { KernelMemoryReader, VirtualMemorySource } from './memory-reader.js';
export { EPROCESS_OFFSETS_BY_BUILD, walkActiveProcesses } from './processes.js';
export type { EprocessWalkOffsets, KernelProcess } from './processes.js';
