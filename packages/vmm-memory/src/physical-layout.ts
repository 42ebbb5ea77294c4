import { VmmMemoryErrorCode, vmmError } from './errors.js';

/**
 * Where each range of guest-physical memory lives in the source: `[guestStart, guestStart + length)`
 * is at `[sourceOffset, sourceOffset + length)`. Ranges are sorted and never overlap. Anything
 * outside every range (MMIO holes, the PCI window under 4 GiB) is not RAM and is left to KD.
 */
export interface PhysicalRange {
  readonly guestStart: bigint;
  readonly length: bigint;
  readonly sourceOffset: bigint;
}

export interface PhysicalLayout {
  /** How the layout was chosen, for notices (`linear`, `q35 split at 2 GiB`, `QMP flat view`). */
  readonly description: string;
  readonly ranges: readonly PhysicalRange[];
}

export const GIB = 1n << 30n;
const FOUR_GIB = 4n * GIB;

/** RAM at guest-physical 0 … size, the whole source in order (VMware .vmem, a plain memory-backend file on a machine without a hole). */
export function linearLayout(size: bigint): PhysicalLayout {
  return { description: 'linear', ranges: size > 0n ? [{ guestStart: 0n, length: size, sourceOffset: 0n }] : [] };
}

/**
 * QEMU's pc and q35 machines: the first `lowMemory` bytes of the RAM block sit at guest-physical 0,
 * the rest at 4 GiB (hw/i386/pc.c `ram-below-4g` / `ram-above-4g` aliases). QEMU picks the split
 * itself (q35: 2 GiB when RAM ≥ 2.75 GiB, else all of RAM below 4 GiB; pc: 3 GiB when RAM ≥ 3.5 GiB)
 * unless `-machine max-ram-below-4g=` says otherwise, so vmkd takes it from QMP or the URI.
 */
export function splitLayout(size: bigint, lowMemory: bigint, machine = 'q35'): PhysicalLayout {
  if (lowMemory <= 0n || lowMemory > FOUR_GIB || lowMemory % 4096n !== 0n) {
    throw vmmError(VmmMemoryErrorCode.BadOption, `low-memory limit 0x${lowMemory.toString(16)} must be a page multiple in (0, 4 GiB]`, { lowMemory: String(lowMemory) });
  }
  if (size <= lowMemory) return { description: `${machine} (all ${formatSize(size)} below 4 GiB)`, ranges: [{ guestStart: 0n, length: size, sourceOffset: 0n }] };
  return {
    description: `${machine} split: ${formatSize(lowMemory)} at 0, ${formatSize(size - lowMemory)} at 4 GiB`,
    ranges: [
      { guestStart: 0n, length: lowMemory, sourceOffset: 0n },
      { guestStart: FOUR_GIB, length: size - lowMemory, sourceOffset: lowMemory },
    ],
  };
}

/** QEMU's own choice of low memory for a machine type and RAM size (hw/i386/pc_q35.c, pc_piix.c). */
export function qemuDefaultLowMemory(machine: 'q35' | 'pc', size: bigint): bigint {
  if (machine === 'q35') return size >= 0xb0000000n ? 0x80000000n : size;
  return size >= 0xe0000000n ? 0xc0000000n : size;
}

/** The guest-physical end of RAM (exclusive): the end of the highest range. */
export function layoutEnd(layout: PhysicalLayout): bigint {
  const last = layout.ranges[layout.ranges.length - 1];
  return last === undefined ? 0n : last.guestStart + last.length;
}

/** Total RAM bytes in the layout. */
export function layoutSize(layout: PhysicalLayout): bigint {
  return layout.ranges.reduce((sum, r) => sum + r.length, 0n);
}

/**
 * The source offset of guest-physical `pa` and how many bytes follow it in the same range;
 * undefined when pa is not RAM. Binary search: QMP flat views can have dozens of ranges.
 */
export function locate(layout: PhysicalLayout, pa: bigint): { offset: bigint; span: bigint } | undefined {
  const ranges = layout.ranges;
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid];
    if (pa < r.guestStart) hi = mid - 1;
    else if (pa >= r.guestStart + r.length) lo = mid + 1;
    else return { offset: r.sourceOffset + (pa - r.guestStart), span: r.guestStart + r.length - pa };
  }
  return undefined;
}

/** Sorts, checks and merges adjacent ranges; throws on overlap. */
export function normaliseRanges(ranges: readonly PhysicalRange[]): PhysicalRange[] {
  const sorted = [...ranges].filter((r) => r.length > 0n).sort((a, b) => (a.guestStart < b.guestStart ? -1 : a.guestStart > b.guestStart ? 1 : 0));
  const out: PhysicalRange[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev !== undefined && r.guestStart < prev.guestStart + prev.length) {
      throw vmmError(VmmMemoryErrorCode.LayoutUnknown, `RAM ranges overlap at guest-physical 0x${r.guestStart.toString(16)}`, { at: `0x${r.guestStart.toString(16)}` });
    }
    if (prev !== undefined && r.guestStart === prev.guestStart + prev.length && r.sourceOffset === prev.sourceOffset + prev.length) {
      out[out.length - 1] = { ...prev, length: prev.length + r.length };
    } else out.push(r);
  }
  return out;
}

export function formatSize(bytes: bigint): string {
  if (bytes % GIB === 0n) return `${bytes / GIB} GiB`;
  if (bytes % (1n << 20n) === 0n) return `${bytes >> 20n} MiB`;
  return `0x${bytes.toString(16)} bytes`;
}
