import type { MemorySource } from './memory-source.js';
import { isCanonical, translateVirtual, type PagingMode, type Translation } from './page-walk.js';

/**
 * Virtual and physical reads of a stopped guest from a memory source: host page walks with a
 * translation cache kept at each mapping's own page size (one entry covers a whole 2 MiB or 1 GiB
 * page) and a cache of the page-table pages the walks read, both dropped by invalidate() on every
 * stop, resume and write.
 */
export interface GuestReader {
  /** Reads all of `into` from virtual `va`; false (nothing promised in `into`) when any page is not translatable on the host. */
  readVirtualInto(va: bigint, into: Uint8Array, mode: PagingMode): Promise<boolean>;
  /**
   * Reads the readable prefix of `into` from `va`, as a target's KD reads do: `bytes` copied, and
   * why it stopped: `end` (all of it), `hole` (a page no translation exists for: a zero entry or a
   * non-canonical address; `resumeAt` is where translatable memory may start again, every page
   * before it being as unreadable), or `kd` (a not-present entry that is not zero: in transition,
   * a prototype or in the page file; a table or page outside RAM), which only the guest can
   * answer.
   */
  readVirtualPrefix(va: bigint, into: Uint8Array, mode: PagingMode): Promise<VirtualPrefix>;
  /** Reads all of `into` from guest-physical `pa`; false when any byte is not RAM in the source. */
  readPhysicalInto(pa: bigint, into: Uint8Array): Promise<boolean>;
  translate(va: bigint, mode: PagingMode): Promise<Translation>;
  invalidate(): void;
}

export type VirtualPrefix =
  | { readonly bytes: number; readonly stop: 'end' }
  | { readonly bytes: number; readonly stop: 'hole'; readonly resumeAt: bigint }
  | { readonly bytes: number; readonly stop: 'kd' };

const PAGE = 4096n;
/** Translations kept (each covers one 4 KiB, 2 MiB or 1 GiB page). */
const MAX_CACHED = 8192;
/** Page-table pages kept: a walk of 512 neighbouring 4 KiB pages reads its PT once. */
const MAX_TABLES = 1024;

export function createGuestReader(source: MemorySource): GuestReader {
  /** Per paging mode, per page size: page base → physical base. */
  const tlb = new Map<string, Map<bigint, bigint>>();
  let cachedTranslations = 0;
  const tables = new Map<bigint, DataView | undefined>();

  const readU64 = async (pa: bigint): Promise<bigint | undefined> => {
    const base = pa & ~(PAGE - 1n);
    let table = tables.get(base);
    if (table === undefined && !tables.has(base)) {
      const bytes = new Uint8Array(4096);
      table = (await source.readPhysicalInto(base, bytes)) === 4096 ? new DataView(bytes.buffer) : undefined;
      if (tables.size >= MAX_TABLES) tables.clear();
      tables.set(base, table);
    }
    return table?.getBigUint64(Number(pa - base), true);
  };

  const modeKey = (mode: PagingMode, pageSize: number): string => `${mode.cr3}:${mode.la57 ? 5 : 4}:${pageSize}`;

  const cached = (va: bigint, mode: PagingMode): Translation | undefined => {
    for (const size of [4096, 2 << 20, 1 << 30]) {
      const pages = tlb.get(modeKey(mode, size));
      if (pages === undefined) continue;
      const mask = BigInt(size) - 1n;
      const hit = pages.get(va & ~mask);
      if (hit !== undefined) {
        const offset = va & mask;
        return { kind: 'mapped', pa: hit + offset, pageSize: size, span: size - Number(offset) };
      }
    }
    return undefined;
  };

  const translate = async (va: bigint, mode: PagingMode): Promise<Translation> => {
    va = BigInt.asUintN(64, va);
    const hit = cached(va, mode);
    if (hit !== undefined) return hit;
    const t = await translateVirtual(va, mode, readU64);
    if (t.kind === 'mapped') {
      if (cachedTranslations >= MAX_CACHED) {
        tlb.clear();
        cachedTranslations = 0;
      }
      const key = modeKey(mode, t.pageSize);
      let pages = tlb.get(key);
      if (pages === undefined) tlb.set(key, (pages = new Map<bigint, bigint>()));
      const mask = BigInt(t.pageSize) - 1n;
      pages.set(va & ~mask, t.pa - (va & mask));
      cachedTranslations++;
    }
    return t;
  };

  /** Copies a physically contiguous run; how many bytes the source had (fewer when it leaves RAM). */
  const readRun = async (pa: bigint, into: Uint8Array): Promise<number> => source.readPhysicalInto(pa, into);

  const readVirtualPrefix = async (va: bigint, into: Uint8Array, mode: PagingMode): Promise<VirtualPrefix> => {
    let done = 0;
    while (done < into.length) {
      const at = BigInt.asUintN(64, va + BigInt(done));
      const t = await translate(at, mode);
      if (t.kind !== 'mapped') {
        if (t.reason === 'non-canonical') return { bytes: done, stop: 'hole', resumeAt: canonicalAfter(at, mode.la57) };
        if (t.reason === 'not-present' && t.entry === 0n) return { bytes: done, stop: 'hole', resumeAt: regionEnd(at, t.level) };
        return { bytes: done, stop: 'kd' };
      }
      const pa = t.pa;
      let n = Math.min(t.span, into.length - done);
      // Coalesce physically contiguous pages into one source read.
      while (done + n < into.length) {
        const next = await translate(BigInt.asUintN(64, va + BigInt(done + n)), mode);
        if (next.kind !== 'mapped' || next.pa !== pa + BigInt(n)) break;
        n += Math.min(next.span, into.length - done - n);
      }
      const got = await readRun(pa, into.subarray(done, done + n));
      done += got;
      if (got < n) return { bytes: done, stop: 'kd' };
    }
    return { bytes: done, stop: 'end' };
  };

  return {
    translate,
    readVirtualPrefix,
    async readVirtualInto(va, into, mode) {
      const r = await readVirtualPrefix(va, into, mode);
      return r.stop === 'end';
    },
    async readPhysicalInto(pa, into) {
      return (await source.readPhysicalInto(pa, into)) === into.length;
    },
    invalidate() {
      tlb.clear();
      cachedTranslations = 0;
      tables.clear();
    },
  };
}

/** The first address after the region the not-present entry at `level` covers (4 KiB at level 1 … 512 GiB at level 4). */
function regionEnd(va: bigint, level: number): bigint {
  const size = 1n << BigInt(12 + 9 * (level - 1));
  return (va & ~(size - 1n)) + size;
}

/** The first canonical address after a non-canonical `va` (the start of the upper half). */
function canonicalAfter(va: bigint, la57: boolean): bigint {
  const upper = la57 ? 0xff00_0000_0000_0000n : 0xffff_8000_0000_0000n;
  return isCanonical(va, la57) ? va + PAGE : upper;
}
