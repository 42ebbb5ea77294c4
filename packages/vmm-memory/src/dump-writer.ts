import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import {
  DUMP_HEADER_SIZE,
  DumpOffset,
  PAGE,
  MAX_RUNS,
  bitmapFirstPage,
  bitmapPages,
  encodeBitmapHeader,
  encodeDumpHeader,
  totalPages,
  type DumpHeaderInfo,
} from './crash-dump-format.js';
import { openDumpFile, pageAlignedBuffers, type DumpFile, type DumpIo } from './dump-file.js';
import { VmmMemoryErrorCode, vmmError } from './errors.js';

/** Reads whole pages of guest-physical memory into `into`; false when they could not be read. */
export type PageReader = (pa: bigint, into: Uint8Array) => Promise<boolean>;

export interface DumpProgress {
  readonly pagesDone: number;
  readonly pagesTotal: number;
  /** Pages written to the file so far (a bitmap dump leaves zero pages out). */
  readonly pagesWritten: number;
}

export interface WriteDumpOptions {
  /** `full` (every page of every run) or `bitmap` (the pages that hold anything but zeros). Default full. */
  readonly type?: 'full' | 'bitmap';
  /** Continue an interrupted dump of the same stop (checked by a fingerprint of the header). */
  readonly resume?: boolean;
  readonly onProgress?: (progress: DumpProgress) => void;
  /** Bytes read per call (default 2 MiB: on a loaded 2-vCPU VM, 2 MiB direct writes kept the disk busier than 4 MiB ones). */
  readonly chunkBytes?: number;
  /** Bytes between resume checkpoints (default 64 MiB). */
  readonly checkpointBytes?: number;
  /**
   * fsync the finished dump before returning (default false). Checkpoints are never synced: a
   * resume continues the same stop of a running VM, which a host crash ends anyway, and the page
   * cache outlives the process (docs/decisions/0020).
   */
  readonly fsync?: boolean;
  /**
   * Write pages with O_DIRECT where the OS and the file system take it (default true; Linux):
   * the disk's bandwidth without a copy into the page cache. False: through the page cache, as
   * `cp` writes (the dump then sits in memory as dirty pages until the kernel writes it back).
   */
  readonly direct?: boolean;
}

export interface DumpResult {
  readonly path: string;
  readonly type: 'full' | 'bitmap';
  readonly pagesTotal: number;
  readonly pagesWritten: number;
  /** Pages the reader could not read (written as zeros in a full dump, left out of a bitmap dump). */
  readonly pagesUnreadable: number;
  readonly fileBytes: number;
  /** The page index the dump resumed from (0 for a fresh dump). */
  readonly resumedFrom: number;
  /** How the pages were written (`direct` unless it was not asked for or the file system refused it). */
  readonly io: DumpIo;
}

interface Checkpoint {
  readonly version: 1;
  readonly fingerprint: string;
  readonly type: 'full' | 'bitmap';
  readonly nextPage: number;
  readonly pagesWritten: number;
  readonly pagesUnreadable: number;
}

/** The file that records how far an interrupted dump got. */
export function resumeFilePath(path: string): string {
  return `${path}.vmkd-resume`;
}

/**
 * Writes a Windows kernel crash dump (see crash-dump-format.ts). The header goes in last, so an
 * interrupted file never looks like a finished dump; `resume` continues from the last checkpoint
 * when the stop is the same (same header fingerprint: context, exception, runs, CR3).
 */
export async function writeCrashDump(path: string, info: DumpHeaderInfo, read: PageReader, options: WriteDumpOptions = {}): Promise<DumpResult> {
  const type = options.type ?? 'full';
  if (info.runs.length === 0 || info.runs.length > MAX_RUNS) {
    throw vmmError(VmmMemoryErrorCode.DumpWrite, `a dump header holds 1 … ${MAX_RUNS} physical memory runs, not ${info.runs.length}`, { runs: info.runs.length });
  }
  const chunkPages = Math.max(1, Math.floor((options.chunkBytes ?? 2 << 20) / PAGE));
  const checkpointPages = Math.max(chunkPages, Math.floor((options.checkpointBytes ?? 64 << 20) / PAGE));
  const pagesTotal = Number(totalPages(info.runs));
  const bits = bitmapPages(info.runs);
  const firstPage = Number(type === 'full' ? BigInt(DUMP_HEADER_SIZE) : bitmapFirstPage(bits));
  const bitmap = type === 'bitmap' ? new Uint8Array(Number(bits / 8n)) : undefined;
  const fingerprint = createHash('sha256').update(encodeDumpHeader(info, type, 0n)).digest('hex');
  const direct = options.direct !== false;

  let start: Checkpoint = { version: 1, fingerprint, type, nextPage: 0, pagesWritten: 0, pagesUnreadable: 0 };
  let file: DumpFile;
  if (options.resume === true) {
    const saved = await readCheckpoint(path);
    if (saved === undefined) throw vmmError(VmmMemoryErrorCode.DumpWrite, `nothing to resume: ${resumeFilePath(path)} is missing (the dump finished or never started)`, { path });
    if (saved.fingerprint !== fingerprint || saved.type !== type) {
      throw vmmError(VmmMemoryErrorCode.DumpWrite, `${path} is a dump of another stop or type; start it afresh (without resume)`, { path });
    }
    start = saved;
    file = await openDumpFile(path, { create: false, direct });
    if (bitmap !== undefined) await file.read(bitmap, DumpOffset.Body + 0x38);
  } else {
    await rm(resumeFilePath(path), { force: true });
    file = await openDumpFile(path, { create: true, direct });
    // Zeros where the header goes: an interrupted dump has no signature.
    await file.write(new Uint8Array(firstPage), 0);
  }

  let pagesWritten = start.pagesWritten;
  let pagesUnreadable = start.pagesUnreadable;
  let done = start.nextPage;
  let sinceCheckpoint = 0;
  /**
   * The pipeline: the next chunk is read while up to two earlier ones are still being written, in
   * three page-aligned buffers allocated once (bounded memory whatever the guest's size). Each
   * chunk goes to the file straight from the buffer it was read into, in as few writes as it has
   * runs of pages in use: no per-page copies or writes for a full dump.
   */
  const buffers = pageAlignedBuffers(3, chunkPages * PAGE);
  const words = buffers.map((b) => new Uint32Array(b.buffer, b.byteOffset, b.length / 4));
  const views = buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.length));
  const writes: (Promise<void> | undefined)[] = buffers.map(() => undefined);
  const zero = Buffer.alloc(PAGE);
  /** The chunks still to do, in file order: run page `basePage + i`, `n` pages, ending at dump page `end`. */
  const chunks: { basePage: bigint; i: number; n: number; end: number }[] = [];
  {
    let runStart = 0;
    for (const run of info.runs) {
      const count = Number(run.pageCount);
      for (let i = Math.max(0, done - runStart); i < count; i += chunkPages) chunks.push({ basePage: run.basePage, i, n: Math.min(chunkPages, count - i), end: runStart + Math.min(i + chunkPages, count) });
      runStart += count;
    }
  }
  /**
   * Whether page p of buffer `slot` holds only zeros. A page in use almost always has a non-zero
   * first or last word, so two loads settle most pages; the rest are compared in native code.
   */
  const isZeroPage = (slot: number, p: number): boolean => {
    const w = words[slot];
    if (w[p * (PAGE / 4)] !== 0 || w[(p + 1) * (PAGE / 4) - 1] !== 0) return false;
    return zero.compare(views[slot], p * PAGE, (p + 1) * PAGE) === 0;
  };
  /** A promise whose failure is seen where it is awaited (marked handled meanwhile, as other work runs first). */
  const quiet = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => undefined);
    return p;
  };
  /** Starts reading chunk k into its buffer once the write that last used that buffer is done. */
  const startRead = (k: number): Promise<{ chunk: Uint8Array; unreadable: number }> => {
    const slot = k % buffers.length;
    const previous = writes[slot];
    return quiet((previous ?? Promise.resolve()).then(() => readChunk(chunks[k], buffers[slot])));
  };
  const readChunk = async (c: (typeof chunks)[number], buffer: Uint8Array): Promise<{ chunk: Uint8Array; unreadable: number }> => {
    const chunk = buffer.subarray(0, c.n * PAGE);
    const pa = (c.basePage + BigInt(c.i)) * BigInt(PAGE);
    let unreadable = 0;
    if (!(await read(pa, chunk))) {
      // Page by page, so one bad page does not cost the chunk.
      for (let p = 0; p < c.n; p++) {
        const page = chunk.subarray(p * PAGE, (p + 1) * PAGE);
        if (!(await read(pa + BigInt(p * PAGE), page))) {
          page.fill(0);
          unreadable++;
        }
      }
    }
    return { chunk, unreadable };
  };
  const settleWrites = async (): Promise<void> => {
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      writes[i] = undefined;
      await w;
    }
  };
  let next: Promise<{ chunk: Uint8Array; unreadable: number }> | undefined;
  try {
    next = chunks.length > 0 ? startRead(0) : undefined;
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k];
      const slot = k % buffers.length;
      const { chunk, unreadable } = await next!;
      pagesUnreadable += unreadable;
      const pieces: Promise<void>[] = [];
      if (bitmap === undefined) {
        // Each run of pages in use at its place. Runs of zero pages are not written: they stay holes
        // of the file, which read back as zeros (the final truncate covers zero pages at the end).
        const base = firstPage + (c.end - c.n) * PAGE;
        for (let p = 0; p < c.n; ) {
          if (isZeroPage(slot, p)) {
            p++;
            continue;
          }
          let q = p + 1;
          while (q < c.n && !isZeroPage(slot, q)) q++;
          pieces.push(file.writePages(chunk.subarray(p * PAGE, q * PAGE), base + p * PAGE));
          p = q;
        }
        pagesWritten += c.n;
      } else {
        // Gather the pages that are not all zeros, in order, and set their bits.
        let out = 0;
        for (let p = 0; p < c.n; p++) {
          if (isZeroPage(slot, p)) continue;
          const pfn = Number(c.basePage) + c.i + p;
          bitmap[pfn >> 3] |= 1 << (pfn & 7);
          if (out !== p) chunk.copyWithin(out * PAGE, p * PAGE, (p + 1) * PAGE);
          out++;
        }
        if (out > 0) pieces.push(file.writePages(chunk.subarray(0, out * PAGE), firstPage + pagesWritten * PAGE));
        pagesWritten += out;
      }
      writes[slot] = pieces.length === 0 ? undefined : quiet(pieces.length === 1 ? pieces[0] : Promise.all(pieces).then(() => undefined));
      next = k + 1 < chunks.length ? startRead(k + 1) : undefined;
      done = c.end;
      sinceCheckpoint += c.n;
      options.onProgress?.({ pagesDone: done, pagesTotal, pagesWritten });
      if (sinceCheckpoint >= checkpointPages && done < pagesTotal) {
        sinceCheckpoint = 0;
        // The record never runs ahead of the data it vouches for.
        await settleWrites();
        if (bitmap !== undefined) await file.write(bitmap, DumpOffset.Body + 0x38);
        await writeFile(resumeFilePath(path), JSON.stringify({ version: 1, fingerprint, type, nextPage: done, pagesWritten, pagesUnreadable } satisfies Checkpoint));
      }
    }
    await settleWrites();
    const fileBytes = firstPage + pagesWritten * PAGE;
    if (bitmap !== undefined) {
      await file.write(encodeBitmapHeader(bits, BigInt(pagesWritten)), DumpOffset.Body);
      await file.write(bitmap, DumpOffset.Body + 0x38);
    }
    await file.truncate(fileBytes);
    await file.write(encodeDumpHeader(info, type, BigInt(fileBytes)), 0);
    if (options.fsync === true) await file.sync();
    const io = file.io();
    await file.close();
    await rm(resumeFilePath(path), { force: true });
    return { path, type, pagesTotal, pagesWritten, pagesUnreadable, fileBytes, resumedFrom: start.nextPage, io };
  } catch (error) {
    await next?.catch(() => undefined);
    await settleWrites().catch(() => undefined);
    await file.close().catch(() => undefined);
    throw vmmError(VmmMemoryErrorCode.DumpWrite, `writing ${path} stopped at page ${done} of ${pagesTotal}: ${(error as Error).message}; continue it with resume`, { path, page: done }, error);
  }
}

async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(resumeFilePath(path), 'utf8');
  } catch {
    return undefined;
  }
  const c = JSON.parse(text) as Partial<Checkpoint>;
  if (c.version !== 1 || typeof c.fingerprint !== 'string' || typeof c.nextPage !== 'number' || typeof c.pagesWritten !== 'number') {
    throw vmmError(VmmMemoryErrorCode.DumpWrite, `${resumeFilePath(path)} is not a vmkd resume record`, { path });
  }
  return c as Checkpoint;
}
