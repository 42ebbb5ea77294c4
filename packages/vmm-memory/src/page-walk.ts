/**
 * x86-64 address translation done on the host (Intel SDM vol. 3A §4.5): 4-level paging, or
 * 5-level when CR4.LA57 is set; 1 GiB (PDPTE.PS) and 2 MiB (PDE.PS) pages. Only present entries
 * are followed: a PTE that is not present may be in transition, a prototype or in the page file,
 * which only the guest's memory manager can resolve, so those reads are left to KD.
 */
export interface PagingMode {
  /** CR3 (flag bits and PCID are masked off here). */
  readonly cr3: bigint;
  /** CR4.LA57: 5-level paging. */
  readonly la57: boolean;
}

export type Translation =
  | {
      readonly kind: 'mapped';
      readonly pa: bigint;
      /** 4096, 2 MiB or 1 GiB. */
      readonly pageSize: number;
      /** Bytes from pa to the end of its page. */
      readonly span: number;
    }
  /**
   * Not present at `level` (5/4 … 1): `entry` is the entry's value. Zero means nothing was ever
   * mapped there; anything else may be a page in transition, a prototype or in the page file,
   * which only the guest's memory manager can resolve.
   */
  | { readonly kind: 'fault'; readonly reason: 'not-present'; readonly level: number; readonly entry: bigint }
  /** Not translatable on the host: a non-canonical address, a reserved PS bit, or a table outside RAM. */
  | { readonly kind: 'fault'; readonly reason: 'non-canonical' | 'reserved' | 'table-unreadable'; readonly level: number };

/** Reads one little-endian u64 of guest-physical memory; undefined when pa is not readable RAM. */
export type ReadPhysicalU64 = (pa: bigint) => Promise<bigint | undefined>;

const PRESENT = 1n;
const PAGE_SIZE_BIT = 0x80n;
/** Bits 51:12: MAXPHYADDR of 52, the architectural ceiling. */
const ADDRESS_MASK = 0x000f_ffff_ffff_f000n;
export const CR3_ADDRESS_MASK = ADDRESS_MASK;
/** CR4.LA57 (bit 12). */
export const CR4_LA57 = 1n << 12n;

export function isCanonical(va: bigint, la57: boolean): boolean {
  const bits = la57 ? 57n : 48n;
  const top = va >> (bits - 1n);
  return top === 0n || top === (1n << (65n - bits)) - 1n;
}

export async function translateVirtual(va: bigint, mode: PagingMode, read: ReadPhysicalU64): Promise<Translation> {
  va = BigInt.asUintN(64, va);
  if (!isCanonical(va, mode.la57)) return { kind: 'fault', reason: 'non-canonical', level: mode.la57 ? 5 : 4 };
  let table = mode.cr3 & ADDRESS_MASK;
  for (let level = mode.la57 ? 5 : 4; level >= 1; level--) {
    const shift = BigInt(12 + 9 * (level - 1));
    const index = (va >> shift) & 0x1ffn;
    const entry = await read(table + index * 8n);
    if (entry === undefined) return { kind: 'fault', reason: 'table-unreadable', level };
    if ((entry & PRESENT) === 0n) return { kind: 'fault', reason: 'not-present', level, entry };
    const large = (entry & PAGE_SIZE_BIT) !== 0n && level > 1;
    if (large && level > 3) return { kind: 'fault', reason: 'reserved', level };
    if (level === 1 || large) {
      const pageMask = (1n << shift) - 1n;
      const offset = va & pageMask;
      const pageSize = Number(1n << shift);
      return { kind: 'mapped', pa: (entry & ADDRESS_MASK & ~pageMask) + offset, pageSize, span: pageSize - Number(offset) };
    }
    table = entry & ADDRESS_MASK;
  }
  return { kind: 'fault', reason: 'reserved', level: 1 };
}
