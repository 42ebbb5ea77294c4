import { open, type FileHandle } from 'node:fs/promises';
import {
  AMD64_CONTEXT_SIZE,
  BITMAP_SIGNATURE,
  BITMAP_VALID_DUMP,
  BitmapOffset,
  DUMP_HEADER_SIZE,
  DUMP_SIGNATURE,
  DUMP_VALID_DUMP_64,
  DumpOffset,
  DumpType,
  MAX_RUNS,
  PAGE,
  type DumpHeaderInfo,
  type PhysicalRun,
} from './crash-dump-format.js';
import { VmmMemoryErrorCode, vmmError } from './errors.js';

/** What a dump's header says, as the writer's `DumpHeaderInfo` names it, plus what reading it adds. */
export interface CrashDump
  extends Pick<
    DumpHeaderInfo,
    | 'majorVersion'
    | 'minorVersion'
    | 'directoryTableBase'
    | 'pfnDatabase'
    | 'psLoadedModuleList'
    | 'psActiveProcessHead'
    | 'machineImageType'
    | 'numberProcessors'
    | 'bugCheckCode'
    | 'kdDebuggerDataBlock'
    | 'runs'
    | 'context'
    | 'exception'
    | 'comment'
  > {
  readonly type: 'full' | 'bitmap';
  /** Pages present in the file. */
  readonly pageCount: number;
  /** Whether page `pfn` is in the dump. */
  hasPage(pfn: bigint): boolean;
  /** Copies guest-physical bytes; returns how many (stops at the first page not in the dump). */
  readPhysicalInto(pa: bigint, into: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

/** Opens a 64-bit full (DumpType 1) or bitmap (DumpType 5) kernel crash dump. */
export async function openCrashDump(path: string): Promise<CrashDump> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw vmmError(VmmMemoryErrorCode.DumpFormat, `cannot open ${path}: ${(error as Error).message}`, { path }, error);
  }
  try {
    return await parse(path, handle);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function parse(path: string, handle: FileHandle): Promise<CrashDump> {
  const size = (await handle.stat()).size;
  const bad = (why: string) => vmmError(VmmMemoryErrorCode.DumpFormat, `${path}: ${why}`, { path });
  if (size < DUMP_HEADER_SIZE) throw bad(`${size} bytes is shorter than the 0x2000-byte header`);
  const header = new Uint8Array(DUMP_HEADER_SIZE);
  await handle.read(header, 0, DUMP_HEADER_SIZE, 0);
  const v = new DataView(header.buffer);
  if (v.getUint32(DumpOffset.Signature, true) !== DUMP_SIGNATURE || v.getUint32(DumpOffset.ValidDump, true) !== DUMP_VALID_DUMP_64) {
    throw bad('not a 64-bit kernel dump (no PAGEDU64 signature; an interrupted vmkd dump has none until it finishes)');
  }
  const dumpType = v.getUint32(DumpOffset.DumpType, true);
  if (dumpType !== DumpType.Full && dumpType !== DumpType.Bitmap) throw bad(`dump type ${dumpType} is not full (1) or bitmap (5)`);
  const pmd = DumpOffset.PhysicalMemoryBlock;
  const runCount = v.getUint32(pmd, true);
  if (runCount > MAX_RUNS) throw bad(`${runCount} physical memory runs do not fit the header`);
  const runs: PhysicalRun[] = [];
  for (let i = 0; i < runCount; i++) runs.push({ basePage: v.getBigUint64(pmd + 16 + 16 * i, true), pageCount: v.getBigUint64(pmd + 24 + 16 * i, true) });
  /** pfn → file offset. */
  const index = new Map<bigint, number>();
  if (dumpType === DumpType.Full) {
    let offset = DUMP_HEADER_SIZE;
    for (const r of runs) {
      for (let p = 0n; p < r.pageCount; p++) {
        index.set(r.basePage + p, offset);
        offset += PAGE;
      }
    }
    if (offset > size) throw bad(`the runs need ${offset} bytes, the file has ${size}`);
  } else {
    const bh = new Uint8Array(BitmapOffset.Bitmap);
    await handle.read(bh, 0, bh.length, DumpOffset.Body);
    const bv = new DataView(bh.buffer);
    const signature = bv.getUint32(BitmapOffset.Signature, true);
    if ((signature !== BITMAP_SIGNATURE && signature !== 0x504d4446) || bv.getUint32(BitmapOffset.ValidDump, true) !== BITMAP_VALID_DUMP) throw bad('the bitmap header has no SDMP/DUMP signature');
    const firstPage = Number(bv.getBigUint64(BitmapOffset.FirstPage, true));
    const pages = Number(bv.getBigUint64(BitmapOffset.Pages, true));
    if (pages / 8 > size) throw bad(`a bitmap of ${pages} pages does not fit the file`);
    const bitmap = new Uint8Array(Math.ceil(pages / 8));
    await handle.read(bitmap, 0, bitmap.length, DumpOffset.Body + BitmapOffset.Bitmap);
    let offset = firstPage;
    for (let pfn = 0; pfn < pages; pfn++) {
      if ((bitmap[pfn >> 3] & (1 << (pfn & 7))) === 0) continue;
      index.set(BigInt(pfn), offset);
      offset += PAGE;
    }
    if (offset > size) throw bad(`the bitmap needs ${offset} bytes, the file has ${size}`);
  }
  const e = DumpOffset.Exception;
  const parameters: bigint[] = [];
  for (let i = 0; i < Math.min(15, v.getUint32(e + 0x18, true)); i++) parameters.push(v.getBigUint64(e + 0x20 + 8 * i, true));
  const comment = header.subarray(DumpOffset.Comment, DumpOffset.Comment + 128);
  const end = comment.indexOf(0);
  return {
    type: dumpType === DumpType.Full ? 'full' : 'bitmap',
    majorVersion: v.getUint32(DumpOffset.MajorVersion, true),
    minorVersion: v.getUint32(DumpOffset.MinorVersion, true),
    directoryTableBase: v.getBigUint64(DumpOffset.DirectoryTableBase, true),
    pfnDatabase: v.getBigUint64(DumpOffset.PfnDatabase, true),
    psLoadedModuleList: v.getBigUint64(DumpOffset.PsLoadedModuleList, true),
    psActiveProcessHead: v.getBigUint64(DumpOffset.PsActiveProcessHead, true),
    machineImageType: v.getUint32(DumpOffset.MachineImageType, true),
    numberProcessors: v.getUint32(DumpOffset.NumberProcessors, true),
    bugCheckCode: v.getUint32(DumpOffset.BugCheckCode, true),
    kdDebuggerDataBlock: v.getBigUint64(DumpOffset.KdDebuggerDataBlock, true),
    runs,
    context: header.slice(DumpOffset.ContextRecord, DumpOffset.ContextRecord + AMD64_CONTEXT_SIZE),
    exception: { code: v.getUint32(e, true), flags: v.getUint32(e + 4, true), record: v.getBigUint64(e + 8, true), address: v.getBigUint64(e + 0x10, true), parameters },
    comment: new TextDecoder().decode(comment.subarray(0, end < 0 ? 128 : end)),
    pageCount: index.size,
    hasPage: (pfn) => index.has(pfn),
    async readPhysicalInto(pa, into) {
      let done = 0;
      while (done < into.length) {
        const at = pa + BigInt(done);
        const offset = index.get(at / BigInt(PAGE));
        if (offset === undefined) break;
        const inPage = Number(at % BigInt(PAGE));
        const n = Math.min(PAGE - inPage, into.length - done);
        await handle.read(into, done, n, offset + inPage);
        done += n;
      }
      return done;
    },
    close: () => handle.close(),
  };
}
