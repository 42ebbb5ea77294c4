import { VmkdError } from '../errors.js';
import { KernelWalkErrorCode } from './errors.js';
import type { KernelMemoryReader } from './memory-reader.js';

/** LIST_ENTRY64: Flink at 0, Blink at 8. */
export const ListEntry64Offset = { Flink: 0x00, Blink: 0x08 } as const;

/**
 * How a walk ended: back at the head (`closed`), at an entry seen before (`cycle`), at a null
 * Flink (`null`), at memory that could not be read (`unreadable`), at the entry limit (`limit`),
 * or at an entry whose Blink does not point back at its predecessor (`broken-blink`, only when
 * Blinks are checked).
 */
export type ListWalkEnd = 'closed' | 'cycle' | 'null' | 'unreadable' | 'limit' | 'broken-blink';

export interface ListWalk {
  /** The address of each entry (the Flink values), in list order, each once. */
  readonly entries: readonly bigint[];
  readonly end: ListWalkEnd;
}

export interface ListWalkOptions {
  /** At most this many entries (default 512): a damaged list ends, it never hangs the caller. */
  readonly maxEntries?: number;
  /** Read each entry's Blink too and end the walk where it does not point back (default false). */
  readonly checkBlinks?: boolean;
  /** Throw ERR_KERNEL_LIST_BROKEN unless the list closes on its head (implies checkBlinks). */
  readonly complete?: boolean;
}

export const DEFAULT_MAX_LIST_ENTRIES = 512;

/**
 * Follows a LIST_ENTRY64 list from its head along the Flinks. Every pointer comes from target
 * memory, so the walk is bounded and stops on a cycle or an unreadable entry.
 */
export async function walkListEntries(read: KernelMemoryReader, head: bigint, options: ListWalkOptions = {}): Promise<ListWalk> {
  const max = options.maxEntries ?? DEFAULT_MAX_LIST_ENTRIES;
  const checkBlinks = options.checkBlinks === true || options.complete === true;
  const entries: bigint[] = [];
  const seen = new Set<bigint>([head]);
  const end = await (async (): Promise<ListWalkEnd> => {
    let previous = head;
    let entry = await flink(read, head);
    for (;;) {
      if (entry === undefined) return 'unreadable';
      if (entry === head) return 'closed';
      if (entry === 0n) return 'null';
      if (seen.has(entry)) return 'cycle';
      if (entries.length >= max) return 'limit';
      const links = await read(entry, checkBlinks ? 16 : 8);
      if (links === undefined) {
        // The entry was named by a readable Flink: the caller may still read its fields.
        entries.push(entry);
        return 'unreadable';
      }
      const v = new DataView(links.buffer, links.byteOffset, links.byteLength);
      if (checkBlinks && v.getBigUint64(ListEntry64Offset.Blink, true) !== previous) return 'broken-blink';
      seen.add(entry);
      entries.push(entry);
      previous = entry;
      entry = v.getBigUint64(ListEntry64Offset.Flink, true);
    }
  })();
  if (options.complete === true && end !== 'closed') {
    const last = entries.at(-1) ?? head;
    throw new VmkdError(KernelWalkErrorCode.BrokenList, `the list at 0x${head.toString(16)} does not close: ${end} after 0x${last.toString(16)} (${entries.length} entries)`, {
      details: { head: `0x${head.toString(16)}`, entry: `0x${last.toString(16)}`, end, entries: entries.length },
    });
  }
  return { entries, end };
}

async function flink(read: KernelMemoryReader, address: bigint): Promise<bigint | undefined> {
  const b = await read(address + BigInt(ListEntry64Offset.Flink), 8);
  return b === undefined ? undefined : new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}
