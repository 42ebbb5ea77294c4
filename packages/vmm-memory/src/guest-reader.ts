import type { MemorySource } from './memory-source.js';
import { translateVirtual, type PagingMode, type Translation } from './page-walk.js';

/**
 * Virtual and physical reads of a stopped guest from a memory source: host page walks with a
 * small translation cache (dropped by invalidate() on every resume and write).
 */
export interface GuestReader {
  /** Reads all of `into` from virtual `va`; false (nothing promised in `into`) when any page is not translatable on the host. */
  readVirtualInto(va: bigint, into: Uint8Array, mode: PagingMode): Promise<boolean>;
  /** Reads all of `into` from guest-physical `pa`; false when any byte is not RAM in the source. */
  readPhysicalInto(pa: bigint, into: Uint8Array): Promise<boolean>;
  translate(va: bigint, mode: PagingMode): Promise<Translation>;
  invalidate(): void;
}

const PAGE = 4096n;
const MAX_CACHED = 4096;

export function createGuestReader(source: MemorySource): GuestReader {
  const tlb = new Map<string, Translation>();
  const scratch = new Uint8Array(8);
  const scratchView = new DataView(scratch.buffer);
  const readU64 = async (pa: bigint): Promise<bigint | undefined> => ((await source.readPhysicalInto(pa, scratch)) === 8 ? scratchView.getBigUint64(0, true) : undefined);

  const translate = async (va: bigint, mode: PagingMode): Promise<Translation> => {
    const page = va & ~(PAGE - 1n);
    const key = `${mode.cr3}:${mode.la57 ? 5 : 4}:${page}`;
    const hit = tlb.get(key);
    if (hit?.kind === 'mapped') {
      const offset = Number(va - page);
      // Cached per 4 KiB page: span is to the end of that 4 KiB piece, enough to walk page by page.
      return { ...hit, pa: hit.pa + BigInt(offset), span: 4096 - offset };
    }
    const t = await translateVirtual(page, mode, readU64);
    if (t.kind === 'mapped') {
      if (tlb.size >= MAX_CACHED) tlb.clear();
      tlb.set(key, { ...t, span: 4096 });
      const offset = Number(va - page);
      return { ...t, pa: t.pa + BigInt(offset), span: 4096 - offset };
    }
    return t;
  };

  return {
    translate,
    async readVirtualInto(va, into, mode) {
      let done = 0;
      while (done < into.length) {
        const t = await translate(BigInt.asUintN(64, va + BigInt(done)), mode);
        if (t.kind !== 'mapped') return false;
        const pa = t.pa;
        let n = Math.min(t.span, into.length - done);
        // Coalesce physically contiguous pages into one source read.
        while (done + n < into.length) {
          const next = await translate(BigInt.asUintN(64, va + BigInt(done + n)), mode);
          if (next.kind !== 'mapped' || next.pa !== pa + BigInt(n)) break;
          n += Math.min(next.span, into.length - done - n);
        }
        if ((await source.readPhysicalInto(pa, into.subarray(done, done + n))) !== n) return false;
        done += n;
      }
      return true;
    },
    async readPhysicalInto(pa, into) {
      return (await source.readPhysicalInto(pa, into)) === into.length;
    },
    invalidate() {
      tlb.clear();
    },
  };
}
