import { open } from 'node:fs/promises';
import { VmmMemoryErrorCode, vmmError } from './errors.js';
import type { MemorySource } from './memory-source.js';
import { linearLayout, splitLayout, qemuDefaultLowMemory, type PhysicalLayout } from './physical-layout.js';
import { createRangeSource } from './range-source.js';

export type LayoutChoice =
  | { readonly kind: 'linear' }
  | { readonly kind: 'split'; readonly machine: 'q35' | 'pc'; readonly lowMemory?: bigint };

export interface FileSourceOptions {
  /** How guest-physical addresses map into the file. Required when the file alone cannot say (RAM over 2.75 GiB). */
  readonly layout?: LayoutChoice;
}

/** Below this, every pc/q35 machine puts all RAM below 4 GiB, so the file is linear whatever the machine. */
const UNAMBIGUOUS = 0xb0000000n;

/** The layout for a RAM image of `size` bytes; throws ERR_VMM_LAYOUT_UNKNOWN (saying what to pass) when it depends on the machine. */
export function resolveFileLayout(size: bigint, choice: LayoutChoice | undefined, what: string): PhysicalLayout {
  if (choice?.kind === 'linear') return linearLayout(size);
  if (choice?.kind === 'split') return splitLayout(size, choice.lowMemory ?? qemuDefaultLowMemory(choice.machine, size), choice.machine);
  if (size < UNAMBIGUOUS) return linearLayout(size);
  throw vmmError(
    VmmMemoryErrorCode.LayoutUnknown,
    `${what}: ${size} bytes of RAM may be linear or split around the PCI hole; pass ?layout=linear, ?layout=q35 or ?layout=pc (with &lowmem=SIZE if -machine max-ram-below-4g was set)`,
    { size: String(size) },
  );
}

/** Opens a QEMU memory-backend file or a VMware .vmem read-only. */
export async function openFileSource(path: string, options: FileSourceOptions = {}): Promise<MemorySource> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw vmmError(VmmMemoryErrorCode.SourceIo, `cannot open the memory file ${path}: ${(error as Error).message}`, { path }, error);
  }
  try {
    const size = BigInt((await handle.stat()).size);
    const layout = resolveFileLayout(size, options.layout, `file:${path}`);
    return createRangeSource(`file:${path}`, layout, handle);
  } catch (error) {
    await handle.close();
    throw error;
  }
}
