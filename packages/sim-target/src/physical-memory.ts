import { fillExpected } from './data-formula.js';

export const PAGE_SIZE = 4096;
const PAGE_SHIFT = 12;

/**
 * Sparse physical RAM of a fixed size. A page nobody has written holds the formula content of
 * `data-formula.ts`; the first write materialises it (copy-on-write from the formula). Pages the
 * kernel builder allocates are materialised zeroed. A materialised page keeps its identity for the
 * simulator's lifetime, so views into it (CPU contexts, KPRCBs) stay live.
 */
export class PhysicalMemory {
  readonly size: number;
  private readonly pages = new Map<number, Uint8Array>();
  private readonly maxPages: number;

  constructor(size: number, maxMaterialisedPages: number) {
    this.size = size;
    this.maxPages = maxMaterialisedPages;
  }

  /** Pages holding their own bytes (written or allocated). */
  get materialisedPages(): number {
    return this.pages.size;
  }

  /** Every materialised page as [pfn, live bytes] (a RAM file mirrors these; see ram-file.ts). */
  materialised(): IterableIterator<[number, Uint8Array]> {
    return this.pages.entries();
  }

  /** The page's own bytes, materialising it (from the formula, or zeroed) if needed; undefined past RAM or the page budget. */
  page(pfn: number, zeroed = false): Uint8Array | undefined {
    const existing = this.pages.get(pfn);
    if (existing !== undefined) return existing;
    if (pfn < 0 || pfn >= this.size / PAGE_SIZE || this.pages.size >= this.maxPages) return undefined;
    const page = new Uint8Array(PAGE_SIZE);
    if (!zeroed) fillExpected(BigInt(pfn) << BigInt(PAGE_SHIFT), page);
    this.pages.set(pfn, page);
    return page;
  }

  /** The page's current bytes without materialising it: live if materialised, else a formula snapshot. */
  peekPage(pfn: number): Uint8Array | undefined {
    if (pfn < 0 || pfn >= this.size / PAGE_SIZE) return undefined;
    return this.pages.get(pfn) ?? fillExpected(BigInt(pfn) << BigInt(PAGE_SHIFT), new Uint8Array(PAGE_SIZE));
  }

  /** Copies RAM bytes [address, address + length) into target at offset; returns how many were inside RAM. */
  readInto(address: number, length: number, target: Uint8Array, offset: number): number {
    const end = Math.min(address + length, this.size);
    let done = 0;
    let pa = address;
    while (pa < end) {
      const pfn = Math.floor(pa / PAGE_SIZE);
      const inPage = pa - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, end - pa);
      const page = this.pages.get(pfn);
      const slice = target.subarray(offset + done, offset + done + n);
      if (page !== undefined) slice.set(page.subarray(inPage, inPage + n));
      else fillExpected(BigInt(pa), slice);
      done += n;
      pa += n;
    }
    return done;
  }

  read(address: number, length: number): Uint8Array {
    if (address < 0 || address >= this.size) return new Uint8Array(0);
    const out = new Uint8Array(Math.min(length, this.size - address));
    this.readInto(address, out.length, out, 0);
    return out;
  }

  /** Writes as much of data as fits in RAM and the page budget; returns the count written. */
  write(address: number, data: Uint8Array): number {
    let done = 0;
    while (done < data.length) {
      const pa = address + done;
      if (pa < 0 || pa >= this.size) break;
      const pfn = Math.floor(pa / PAGE_SIZE);
      const page = this.page(pfn);
      if (page === undefined) break;
      const inPage = pa - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, data.length - done);
      page.set(data.subarray(done, done + n), inPage);
      done += n;
    }
    return done;
  }

  readU64(address: number): bigint {
    const bytes = this.read(address, 8);
    if (bytes.length < 8) return 0n;
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  }
}
