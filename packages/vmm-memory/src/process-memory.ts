import type { DebuggerSession } from '@vmkd/kd-protocol';
import { KDBG_OWNER_TAG, KdDebuggerDataOffset, readKdDebuggerData, sessionMemoryReader } from '@vmkd/kd-protocol/kernel';
import { VmmMemoryErrorCode, vmmError } from './errors.js';
import { CR3_ADDRESS_MASK, translateVirtual, type PagingMode } from './page-walk.js';

/**
 * A process's address space read the way WinDbg's `.process /p` (and `.context`) reads one on a
 * live kernel: the debugger takes DirectoryTableBase from the process's EPROCESS, walks its page
 * tables itself and reads the pages with ReadPhysicalMemory, since KD's ReadVirtualMemory only
 * ever sees the address space of the CPU that stopped. Through a memory fast path every one of
 * those physical reads is answered from the source, so a process's memory reads at host speed
 * while the kernel's own reads go on through the stopped CPU's CR3.
 */
export interface ProcessMemory {
  readonly eprocess: bigint;
  /** The process's CR3 (DirectoryTableBase, flag bits kept as the kernel stores them). */
  readonly directoryTableBase: bigint;
  /** The readable prefix of `length` bytes at `va` in this process (empty when `va` is not mapped). */
  read(va: bigint, length: number): Promise<Uint8Array>;
}

/** Page-table pages and pages read per process view, at most (one 4 KiB physical read each). */
const PAGE = 4096n;

/** EPROCESS.DirectoryTableBase of `eprocess`, at the offset the kernel's own KDDEBUGGER_DATA64 gives (OffsetEprocessDirectoryTableBase). */
export async function processDirectoryBase(session: DebuggerSession, eprocess: bigint): Promise<bigint> {
  const read = sessionMemoryReader(session);
  const version = await session.getVersion();
  const kdbg = await readKdDebuggerData(read, version.debuggerDataList);
  if (kdbg === undefined || kdbg.bytes.length < 0x18 || new DataView(kdbg.bytes.buffer, kdbg.bytes.byteOffset).getUint32(KdDebuggerDataOffset.OwnerTag, true) !== KDBG_OWNER_TAG) throw vmmError(VmmMemoryErrorCode.DumpTarget, 'no KDDEBUGGER_DATA64 (KDBG) behind the debugger data list');
  const offsetField = await read(kdbg.address + BigInt(KdDebuggerDataOffset.OffsetEprocessDirectoryTableBase), 2);
  const offset = offsetField === undefined ? 0 : offsetField[0] | (offsetField[1] << 8);
  if (offset === 0) throw vmmError(VmmMemoryErrorCode.DumpTarget, 'KDDEBUGGER_DATA64 does not give OffsetEprocessDirectoryTableBase');
  const field = await read(eprocess + BigInt(offset), 8);
  if (field === undefined) throw vmmError(VmmMemoryErrorCode.DumpTarget, `cannot read EPROCESS.DirectoryTableBase of 0x${eprocess.toString(16)} over KD`, { eprocess: `0x${eprocess.toString(16)}` });
  const dtb = new DataView(field.buffer, field.byteOffset, 8).getBigUint64(0, true);
  if ((dtb & CR3_ADDRESS_MASK) === 0n) throw vmmError(VmmMemoryErrorCode.DumpTarget, `0x${eprocess.toString(16)} has no DirectoryTableBase: not an EPROCESS?`, { eprocess: `0x${eprocess.toString(16)}` });
  return dtb;
}

/**
 * Opens `eprocess`'s address space on a stopped target. `la57` (5-level paging) is taken from the
 * stopped CPU's CR4, as every address space of one kernel uses the same paging mode.
 */
export async function openProcessMemory(session: DebuggerSession, eprocess: bigint): Promise<ProcessMemory> {
  const directoryTableBase = await processDirectoryBase(session, eprocess);
  const special = await session.getSpecialRegisters();
  const mode: PagingMode = { cr3: directoryTableBase, la57: (special.cr4 & (1n << 12n)) !== 0n };
  /** Page-table pages read at this stop: a walk over neighbouring pages reads each table once. */
  const tables = new Map<bigint, DataView | undefined>();
  const readU64 = async (pa: bigint): Promise<bigint | undefined> => {
    const base = pa & ~(PAGE - 1n);
    if (!tables.has(base)) {
      const r = await session.readPhysical(base, 4096);
      tables.set(base, r.bytesRead === 4096 ? new DataView(r.data.buffer, r.data.byteOffset, 4096) : undefined);
    }
    return tables.get(base)?.getBigUint64(Number(pa - base), true);
  };
  return {
    eprocess,
    directoryTableBase,
    async read(va, length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const t = await translateVirtual(va + BigInt(done), mode, readU64);
        if (t.kind !== 'mapped') break;
        const n = Math.min(t.span, length - done);
        const r = await session.readPhysicalInto(t.pa, out.subarray(done, done + n));
        done += r.bytesRead;
        if (r.bytesRead < n) break;
      }
      return done === length ? out : out.slice(0, done);
    },
  };
}
