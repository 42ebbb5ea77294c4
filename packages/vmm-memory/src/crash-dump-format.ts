import { KdLimits } from '@vmkd/kd-protocol';

/**
 * The 64-bit Windows kernel crash dump header (DUMP_HEADER64, the `PAGEDU64` file), as WinDbg
 * writes it with `.dump /f` and reads it back: a 0x2000-byte header, then either every page of
 * the physical memory runs in order (a full dump, DumpType 1) or, for a bitmap dump (DumpType 5),
 * a `SDMP`/`DUMP` header with a bit per page at 0x2000 and the pages whose bit is set, in order,
 * from `FirstPage`. Offsets as the public DUMP_HEADER64 definition (Windows SDK docs) and
 * kdmp-parser's kdmp-parser-structs.h lay them out.
 */
export const DumpOffset = {
  Signature: 0x0000,
  ValidDump: 0x0004,
  MajorVersion: 0x0008,
  MinorVersion: 0x000c,
  DirectoryTableBase: 0x0010,
  PfnDatabase: 0x0018,
  PsLoadedModuleList: 0x0020,
  PsActiveProcessHead: 0x0028,
  MachineImageType: 0x0030,
  NumberProcessors: 0x0034,
  BugCheckCode: 0x0038,
  BugCheckParameters: 0x0040,
  KdDebuggerDataBlock: 0x0080,
  PhysicalMemoryBlock: 0x0088,
  ContextRecord: 0x0348,
  Exception: 0x0f00,
  DumpType: 0x0f98,
  RequiredDumpSpace: 0x0fa0,
  SystemTime: 0x0fa8,
  Comment: 0x0fb0,
  SystemUpTime: 0x1030,
  KdSecondaryVersion: 0x104d,
  /** Full dump: the first page; bitmap dump: the SDMP header. */
  Body: 0x2000,
} as const;

export const DUMP_HEADER_SIZE = 0x2000;
/** 'PAGE', also the filler of every header byte nobody sets (as Windows initialises the header). */
export const DUMP_SIGNATURE = 0x45474150;
/** 'DU64'. */
export const DUMP_VALID_DUMP_64 = 0x34365544;
export const DumpType = { Full: 1, Kernel: 2, Bitmap: 5 } as const;
export const PHYSICAL_MEMORY_BLOCK_SIZE = 700;
/** Runs that fit in the header's 700-byte PHYSICAL_MEMORY_DESCRIPTOR (16-byte head, 16 bytes a run). */
export const MAX_RUNS = Math.floor((PHYSICAL_MEMORY_BLOCK_SIZE - 16) / 16);
export const CONTEXT_RECORD_SIZE = 3000;
/** The AMD64 CONTEXT the header carries (kd-protocol's size, spec 2.6). */
export const AMD64_CONTEXT_SIZE = KdLimits.Amd64ContextSize;
export const EXCEPTION_RECORD64_SIZE = 0x98;
export const COMMENT_SIZE = 128;

/** The bitmap dump's header at 0x2000. */
export const BitmapOffset = { Signature: 0x00, ValidDump: 0x04, FirstPage: 0x20, TotalPresentPages: 0x28, Pages: 0x30, Bitmap: 0x38 } as const;
/** 'SDMP' (kdmp-parser also accepts 'FDMP'). */
export const BITMAP_SIGNATURE = 0x504d4453;
/** 'DUMP'. */
export const BITMAP_VALID_DUMP = 0x504d5544;

export const PAGE = 4096;

export interface PhysicalRun {
  readonly basePage: bigint;
  readonly pageCount: bigint;
}

export interface ExceptionRecord64 {
  readonly code: number;
  readonly flags: number;
  readonly record: bigint;
  readonly address: bigint;
  readonly parameters: readonly bigint[];
}

/** Everything the header says about the machine and the stop. */
export interface DumpHeaderInfo {
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly directoryTableBase: bigint;
  readonly pfnDatabase: bigint;
  readonly psLoadedModuleList: bigint;
  readonly psActiveProcessHead: bigint;
  readonly machineImageType: number;
  readonly numberProcessors: number;
  readonly bugCheckCode: number;
  readonly bugCheckParameters: readonly [bigint, bigint, bigint, bigint];
  readonly kdDebuggerDataBlock: bigint;
  readonly kdSecondaryVersion: number;
  readonly runs: readonly PhysicalRun[];
  /** The stopped CPU's AMD64 CONTEXT (0x4d0 bytes). */
  readonly context: Uint8Array;
  readonly exception: ExceptionRecord64;
  /** Windows FILETIME (100 ns since 1601). */
  readonly systemTime: bigint;
  readonly comment: string;
}

export function totalPages(runs: readonly PhysicalRun[]): bigint {
  return runs.reduce((n, r) => n + r.pageCount, 0n);
}

/** One past the highest page of the runs: the bitmap's bit count (rounded up to a whole byte). */
export function bitmapPages(runs: readonly PhysicalRun[]): bigint {
  const end = runs.reduce((m, r) => (r.basePage + r.pageCount > m ? r.basePage + r.pageCount : m), 0n);
  return (end + 7n) & ~7n;
}

/** Where pages start in a bitmap dump: after the SDMP header and the bitmap, page-aligned. */
export function bitmapFirstPage(pages: bigint): bigint {
  const end = BigInt(DumpOffset.Body + BitmapOffset.Bitmap) + pages / 8n;
  return (end + BigInt(PAGE - 1)) & ~BigInt(PAGE - 1);
}

/** The 0x2000-byte header. `requiredDumpSpace` is the final file size. */
export function encodeDumpHeader(info: DumpHeaderInfo, type: 'full' | 'bitmap', requiredDumpSpace: bigint): Uint8Array {
  const out = new Uint8Array(DUMP_HEADER_SIZE);
  const v = new DataView(out.buffer);
  for (let i = 0; i < DUMP_HEADER_SIZE; i += 4) v.setUint32(i, DUMP_SIGNATURE, true);
  v.setUint32(DumpOffset.Signature, DUMP_SIGNATURE, true);
  v.setUint32(DumpOffset.ValidDump, DUMP_VALID_DUMP_64, true);
  v.setUint32(DumpOffset.MajorVersion, info.majorVersion, true);
  v.setUint32(DumpOffset.MinorVersion, info.minorVersion, true);
  v.setBigUint64(DumpOffset.DirectoryTableBase, info.directoryTableBase, true);
  v.setBigUint64(DumpOffset.PfnDatabase, info.pfnDatabase, true);
  v.setBigUint64(DumpOffset.PsLoadedModuleList, info.psLoadedModuleList, true);
  v.setBigUint64(DumpOffset.PsActiveProcessHead, info.psActiveProcessHead, true);
  v.setUint32(DumpOffset.MachineImageType, info.machineImageType, true);
  v.setUint32(DumpOffset.NumberProcessors, info.numberProcessors, true);
  v.setUint32(DumpOffset.BugCheckCode, info.bugCheckCode, true);
  v.setUint32(DumpOffset.BugCheckCode + 4, 0, true);
  info.bugCheckParameters.forEach((p, i) => v.setBigUint64(DumpOffset.BugCheckParameters + 8 * i, p, true));
  v.setBigUint64(DumpOffset.KdDebuggerDataBlock, info.kdDebuggerDataBlock, true);
  // PHYSICAL_MEMORY_DESCRIPTOR: NumberOfRuns, padding, NumberOfPages, Run[] { BasePage, PageCount }.
  const pmd = DumpOffset.PhysicalMemoryBlock;
  out.fill(0, pmd, pmd + PHYSICAL_MEMORY_BLOCK_SIZE);
  v.setUint32(pmd, info.runs.length, true);
  v.setBigUint64(pmd + 8, totalPages(info.runs), true);
  info.runs.forEach((r, i) => {
    v.setBigUint64(pmd + 16 + 16 * i, r.basePage, true);
    v.setBigUint64(pmd + 24 + 16 * i, r.pageCount, true);
  });
  out.fill(0, DumpOffset.ContextRecord, DumpOffset.ContextRecord + CONTEXT_RECORD_SIZE);
  out.set(info.context.subarray(0, AMD64_CONTEXT_SIZE), DumpOffset.ContextRecord);
  const e = DumpOffset.Exception;
  out.fill(0, e, e + EXCEPTION_RECORD64_SIZE);
  v.setUint32(e, info.exception.code, true);
  v.setUint32(e + 4, info.exception.flags, true);
  v.setBigUint64(e + 8, info.exception.record, true);
  v.setBigUint64(e + 0x10, info.exception.address, true);
  v.setUint32(e + 0x18, Math.min(info.exception.parameters.length, 15), true);
  info.exception.parameters.slice(0, 15).forEach((p, i) => v.setBigUint64(e + 0x20 + 8 * i, p, true));
  v.setUint32(DumpOffset.DumpType, type === 'full' ? DumpType.Full : DumpType.Bitmap, true);
  v.setUint32(DumpOffset.DumpType + 4, 0, true);
  v.setBigInt64(DumpOffset.RequiredDumpSpace, requiredDumpSpace, true);
  v.setBigInt64(DumpOffset.SystemTime, info.systemTime, true);
  out.fill(0, DumpOffset.Comment, DumpOffset.Comment + COMMENT_SIZE);
  const comment = new TextEncoder().encode(info.comment).subarray(0, COMMENT_SIZE - 1);
  out.set(comment, DumpOffset.Comment);
  v.setBigInt64(DumpOffset.SystemUpTime, 0n, true);
  out[DumpOffset.KdSecondaryVersion] = info.kdSecondaryVersion;
  return out;
}

/** The SDMP header of a bitmap dump (without the bitmap bytes). */
export function encodeBitmapHeader(pages: bigint, presentPages: bigint): Uint8Array {
  const out = new Uint8Array(BitmapOffset.Bitmap);
  const v = new DataView(out.buffer);
  v.setUint32(BitmapOffset.Signature, BITMAP_SIGNATURE, true);
  v.setUint32(BitmapOffset.ValidDump, BITMAP_VALID_DUMP, true);
  v.setBigUint64(BitmapOffset.FirstPage, bitmapFirstPage(pages), true);
  v.setBigUint64(BitmapOffset.TotalPresentPages, presentPages, true);
  v.setBigUint64(BitmapOffset.Pages, pages, true);
  return out;
}

/** Windows FILETIME for a JS time in ms. */
export function fileTime(ms: number): bigint {
  return (BigInt(Math.round(ms)) + 11_644_473_600_000n) * 10_000n;
}
