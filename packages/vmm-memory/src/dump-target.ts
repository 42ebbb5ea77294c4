import { KdMachineType, type DebuggerSession } from '@vmkd/kd-protocol';
import { KDBG_OWNER_TAG, KdDebuggerDataOffset } from '@vmkd/kd-protocol/kernel';
import { fileTime, type DumpHeaderInfo, type PhysicalRun } from './crash-dump-format.js';
import { writeCrashDump, type DumpResult, type PageReader, type WriteDumpOptions } from './dump-writer.js';
import { VmmMemoryErrorCode, vmmError } from './errors.js';
import type { FastPathLink } from './fast-path-link.js';

/** KDDEBUGGER_DATA64 offsets (kd-protocol's layout, the public wdbgexts.h one). */
const Kdbg = KdDebuggerDataOffset;
/** DBGKD_DEBUG_DATA_HEADER64 (List, OwnerTag, Size) ends where KernBase starts. */
const KDBG_HEADER_SIZE = Kdbg.KernBase;
/** Windows' breakpoint exception, what a break-in reports. */
const STATUS_BREAKPOINT = 0x80000003;

export interface DumpSourceChoice {
  readonly from: 'source' | 'kd';
  readonly reader: PageReader;
  /** Why KD was used although a source was given (not validated at this stop). */
  readonly reason?: string;
}

/**
 * The header of a dump of the stopped target, read over KD: version block, KDDEBUGGER_DATA64
 * (via the debugger data list), the physical memory runs from MmPhysicalMemoryBlock, CR3, the
 * stopped CPU's CONTEXT and the stop's exception record.
 */
export async function readDumpHeaderInfo(session: DebuggerSession, comment = 'vmkd dump'): Promise<DumpHeaderInfo> {
  const stop = session.lastStateChange;
  if (session.state !== 'stopped' || stop === undefined) throw vmmError(VmmMemoryErrorCode.DumpTarget, 'the target is not stopped: attach (break in) first');
  const version = await session.getVersion();
  if (version.machineType !== KdMachineType.Amd64) throw vmmError(VmmMemoryErrorCode.DumpTarget, `only x64 targets can be dumped (machine type 0x${version.machineType.toString(16)})`);
  const u64 = async (address: bigint, what: string): Promise<bigint> => {
    const r = await session.readVirtual(address, 8);
    if (r.bytesRead !== 8) throw vmmError(VmmMemoryErrorCode.DumpTarget, `cannot read ${what} at 0x${address.toString(16)} over KD`, { address: `0x${address.toString(16)}` });
    return new DataView(r.data.buffer, r.data.byteOffset, 8).getBigUint64(0, true);
  };
  const kdbgAddress = await u64(version.debuggerDataList, 'the debugger data list (KdpDebuggerDataListHead)');
  const head = await session.readVirtual(kdbgAddress, KDBG_HEADER_SIZE);
  const hv = new DataView(head.data.buffer, head.data.byteOffset, head.data.length);
  if (head.bytesRead !== KDBG_HEADER_SIZE || hv.getUint32(Kdbg.OwnerTag, true) !== KDBG_OWNER_TAG) {
    throw vmmError(VmmMemoryErrorCode.DumpTarget, `no KDDEBUGGER_DATA64 ('KDBG') at 0x${kdbgAddress.toString(16)}`, { address: `0x${kdbgAddress.toString(16)}` });
  }
  const kdbgSize = Math.min(hv.getUint32(Kdbg.Size, true), 0x1000);
  const kdbg = await session.readVirtual(kdbgAddress, kdbgSize);
  const kv = new DataView(kdbg.data.buffer, kdbg.data.byteOffset, kdbg.data.length);
  const field = (offset: number): bigint => (offset + 8 <= kdbg.bytesRead ? kv.getBigUint64(offset, true) : 0n);
  const pfnVariable = field(Kdbg.MmPfnDatabase);
  const pfnDatabase = pfnVariable === 0n ? 0n : await u64(pfnVariable, 'MmPfnDatabase');
  const runs = await readPhysicalMemoryRuns(session, field(Kdbg.MmPhysicalMemoryBlock), u64);
  const special = await session.getSpecialRegisters(stop.processor);
  const context = await session.getContext({ processor: stop.processor });
  const exception =
    stop.kind === 'exception'
      ? { code: stop.exceptionCode, flags: stop.exceptionFlags, record: stop.exceptionRecord, address: stop.exceptionAddress, parameters: stop.exceptionInformation.slice(0, stop.numberParameters) }
      : { code: STATUS_BREAKPOINT, flags: 0, record: 0n, address: stop.programCounter, parameters: [] };
  return {
    majorVersion: version.majorVersion,
    minorVersion: version.minorVersion,
    directoryTableBase: special.cr3,
    pfnDatabase,
    psLoadedModuleList: version.psLoadedModuleList,
    psActiveProcessHead: field(Kdbg.PsActiveProcessHead),
    machineImageType: KdMachineType.Amd64,
    numberProcessors: stop.numberProcessors,
    bugCheckCode: 0,
    bugCheckParameters: [0n, 0n, 0n, 0n],
    kdDebuggerDataBlock: kdbgAddress,
    kdSecondaryVersion: version.kdSecondaryVersion,
    runs,
    context: context.bytes,
    exception,
    systemTime: fileTime(Date.now()),
    comment,
  };
}

/** nt!MmPhysicalMemoryBlock → PHYSICAL_MEMORY_DESCRIPTOR { NumberOfRuns, NumberOfPages, Run[] }. */
async function readPhysicalMemoryRuns(session: DebuggerSession, variable: bigint, u64: (a: bigint, what: string) => Promise<bigint>): Promise<PhysicalRun[]> {
  if (variable === 0n) throw vmmError(VmmMemoryErrorCode.DumpTarget, 'KDDEBUGGER_DATA64 has no MmPhysicalMemoryBlock');
  const descriptor = await u64(variable, 'MmPhysicalMemoryBlock');
  const head = await session.readVirtual(descriptor, 16);
  if (head.bytesRead !== 16) throw vmmError(VmmMemoryErrorCode.DumpTarget, `cannot read the PHYSICAL_MEMORY_DESCRIPTOR at 0x${descriptor.toString(16)}`);
  const count = new DataView(head.data.buffer, head.data.byteOffset, 16).getUint32(0, true);
  if (count === 0 || count > 4096) throw vmmError(VmmMemoryErrorCode.DumpTarget, `the PHYSICAL_MEMORY_DESCRIPTOR claims ${count} runs`, { runs: count });
  const body = await session.readVirtual(descriptor + 16n, count * 16);
  if (body.bytesRead !== count * 16) throw vmmError(VmmMemoryErrorCode.DumpTarget, 'cannot read the physical memory runs');
  const bv = new DataView(body.data.buffer, body.data.byteOffset, body.data.length);
  const runs: PhysicalRun[] = [];
  for (let i = 0; i < count; i++) runs.push({ basePage: bv.getBigUint64(16 * i, true), pageCount: bv.getBigUint64(16 * i + 8, true) });
  return runs;
}

/** Pages from the memory source when the fast path trusts it at this stop, otherwise ReadPhysicalMemory over KD. */
export function chooseDumpReader(session: DebuggerSession, fastPath?: FastPathLink): DumpSourceChoice {
  if (fastPath !== undefined && fastPath.fastPathState().trusted) {
    const source = fastPath.source;
    return { from: 'source', reader: async (pa, into) => (await source.readPhysicalInto(pa, into)) === into.length };
  }
  const kd: PageReader = async (pa, into) => (await session.readPhysicalInto(pa, into)).bytesRead === into.length;
  return fastPath === undefined ? { from: 'kd', reader: kd } : { from: 'kd', reader: kd, reason: fastPath.fastPathState().disabledReason ?? 'the memory source is not validated at this stop' };
}

/** Dumps the stopped target: header over KD, pages from the source (validated) or KD. */
export async function dumpTarget(
  session: DebuggerSession,
  path: string,
  options: WriteDumpOptions & { readonly fastPath?: FastPathLink; readonly comment?: string } = {},
): Promise<DumpResult & { readonly from: 'source' | 'kd' }> {
  const info = await readDumpHeaderInfo(session, options.comment);
  const choice = chooseDumpReader(session, options.fastPath);
  const result = await writeCrashDump(path, info, choice.reader, { ...options, chunkBytes: options.chunkBytes ?? (choice.from === 'source' ? 2 << 20 : 256 << 10) });
  return { ...result, from: choice.from };
}
