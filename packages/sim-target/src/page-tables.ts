import { PAGE_SIZE, type PhysicalMemory } from './physical-memory.js';

/**
 * Real x64 4-level page tables (PML4 → PDPT → PD → PT) kept in simulated physical memory, so CR3,
 * DirectoryTableBase and a debugger walking tables with ReadPhysicalMemory all see the same thing
 * the simulator translates with.
 */

const PRESENT = 1n;
const WRITABLE = 2n;
/** U/S: user-mode accessible; set on every level of a user mapping (Intel SDM vol. 3A §4.6). */
const USER = 4n;
const LARGE = 0x80n;
const GLOBAL = 0x100n;
const ADDRESS_MASK = 0x000f_ffff_ffff_f000n;
const GIB = 1n << 30n;

/** Page-aligned physical pages for the kernel's own structures (page tables, images, pool). */
export interface PageAllocator {
  /** A fresh zeroed page; returns its physical address. */
  allocate(): number;
}

export function createPageAllocator(memory: PhysicalMemory, start: number, end: number): PageAllocator & { readonly next: number } {
  let next = start;
  return {
    get next() {
      return next;
    },
    allocate() {
      if (next + PAGE_SIZE > end) throw new Error(`kernel page reserve exhausted at 0x${next.toString(16)}`);
      const pa = next;
      next += PAGE_SIZE;
      if (memory.page(pa / PAGE_SIZE, true) === undefined) throw new Error(`cannot allocate physical page 0x${pa.toString(16)}`);
      return pa;
    },
  };
}

function index(va: bigint, level: number): number {
  return Number((va >> BigInt(12 + 9 * level)) & 0x1ffn);
}

function entryView(memory: PhysicalMemory, table: number): DataView {
  const page = memory.page(table / PAGE_SIZE);
  if (page === undefined) throw new Error(`page table 0x${table.toString(16)} is outside RAM`);
  return new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
}

export class PageTables {
  constructor(
    private readonly memory: PhysicalMemory,
    private readonly allocator: PageAllocator,
    /** Physical address of the PML4 (CR3 without flag bits). */
    readonly root: number,
  ) {}

  /** Walks down to the table at `level` (3 = PML4 … 0 = PT) for va, creating tables on the way (user tables for a user mapping). */
  private tableFor(va: bigint, level: number, user = false): number {
    let table = this.root;
    for (let l = 3; l > level; l--) {
      const view = entryView(this.memory, table);
      const slot = index(va, l) * 8;
      let entry = view.getBigUint64(slot, true);
      if ((entry & PRESENT) === 0n) {
        const child = this.allocator.allocate();
        entry = BigInt(child) | PRESENT | WRITABLE | (user ? USER : 0n);
        view.setBigUint64(slot, entry, true);
      } else if ((entry & LARGE) !== 0n) {
        throw new Error(`0x${va.toString(16)} is already inside a large page`);
      }
      table = Number(entry & ADDRESS_MASK);
    }
    return table;
  }

  /** Maps one 4 KiB page. */
  map(va: bigint, pa: number): void {
    const view = entryView(this.memory, this.tableFor(va, 0));
    view.setBigUint64(index(va, 0) * 8, BigInt(pa) | PRESENT | WRITABLE | GLOBAL, true);
  }

  /**
   * Maps one 4 KiB page of a process's user half (not global: it belongs to this address space
   * only); `writable` false for pages such as SharedUserData's user view.
   */
  mapUser(va: bigint, pa: number, writable: boolean): void {
    const view = entryView(this.memory, this.tableFor(va, 0, true));
    view.setBigUint64(index(va, 0) * 8, BigInt(pa) | PRESENT | USER | (writable ? WRITABLE : 0n), true);
  }

  /** Maps [va, va + size) to [pa, pa + size) with 1 GiB pages (va and pa 1 GiB-aligned). */
  mapLinear1G(va: bigint, pa: bigint, size: bigint): void {
    for (let off = 0n; off < size; off += GIB) {
      const view = entryView(this.memory, this.tableFor(va + off, 2));
      view.setBigUint64(index(va + off, 2) * 8, ((pa + off) & ADDRESS_MASK) | PRESENT | WRITABLE | LARGE | GLOBAL, true);
    }
  }

  /** Points PML4 slot `slot` of `pml4` at itself: the recursive mapping that makes page tables visible at the PTE base. */
  selfMap(slot: number, pml4 = this.root): void {
    entryView(this.memory, pml4).setBigUint64(slot * 8, BigInt(pml4) | PRESENT | WRITABLE, true);
  }

  /** A new PML4 sharing this one's kernel half (entries 256 … 511), as each process's DirectoryTableBase does. */
  cloneKernelHalf(selfMapSlot?: number): number {
    const pml4 = this.allocator.allocate();
    const from = entryView(this.memory, this.root);
    const to = entryView(this.memory, pml4);
    for (let i = 256; i < 512; i++) to.setBigUint64(i * 8, from.getBigUint64(i * 8, true), true);
    if (selfMapSlot !== undefined) this.selfMap(selfMapSlot, pml4);
    return pml4;
  }
}

/** The physical address va maps to, and how many bytes of that page follow it; undefined when not present. */
export function translate(memory: PhysicalMemory, root: number, va: bigint): { pa: number; span: number } | undefined {
  // Non-canonical addresses fault on real hardware.
  const top = va >> 47n;
  if (top !== 0n && top !== 0x1ffffn) return undefined;
  let table = root;
  for (let level = 3; level >= 0; level--) {
    const entry = memory.readU64(table + index(va, level) * 8);
    if ((entry & PRESENT) === 0n) return undefined;
    const isLeaf = level === 0 || ((entry & LARGE) !== 0n && level <= 2);
    if (isLeaf) {
      const pageBits = BigInt(12 + 9 * level);
      const pageMask = (1n << pageBits) - 1n;
      const base = entry & ADDRESS_MASK & ~pageMask;
      const offset = va & pageMask;
      return { pa: Number(base + offset), span: Number((1n << pageBits) - offset) };
    }
    table = Number(entry & ADDRESS_MASK);
  }
  return undefined;
}
