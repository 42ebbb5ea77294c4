import type { KernelMemoryReader } from './memory-reader.js';
import { walkListEntries, type ListWalkOptions } from './list-entry.js';

/** KLDR_DATA_TABLE_ENTRY on x64 (0xA0 bytes; InLoadOrderLinks at 0 is the PsLoadedModuleList link). */
export const KldrDataTableEntryOffset = {
  InLoadOrderLinks: 0x00,
  DllBase: 0x30,
  EntryPoint: 0x38,
  SizeOfImage: 0x40,
  FullDllName: 0x48,
  BaseDllName: 0x58,
  Flags: 0x68,
  LoadCount: 0x6c,
  CheckSum: 0x78,
  SizeOfImageNotRounded: 0x98,
  TimeDateStamp: 0x9c,
} as const;

/** KLDR_DATA_TABLE_ENTRY's size on x64. */
export const KLDR_DATA_TABLE_ENTRY_SIZE = 0xa0;

/** UNICODE_STRING on x64: Length and MaximumLength in bytes, then the buffer's address. */
export const UnicodeString64Offset = { Length: 0x00, MaximumLength: 0x02, Buffer: 0x08 } as const;

/** Longest name read, in bytes: a damaged Length costs one bounded read, not megabytes. */
const MAX_NAME_BYTES = 512;

export interface KernelModule {
  /** The KLDR_DATA_TABLE_ENTRY's address. */
  readonly entry: bigint;
  readonly base: bigint;
  readonly size: number;
  /** BaseDllName, e.g. `ntoskrnl.exe`. */
  readonly name: string;
  /** FullDllName, when asked for (`fullNames`), else undefined. */
  readonly fullName?: string;
}

export interface ModuleWalkOptions extends ListWalkOptions {
  /** Also read FullDllName (one more read per module). */
  readonly fullNames?: boolean;
}

const L = KldrDataTableEntryOffset;
/** DllBase through BaseDllName's UNICODE_STRING: one read per entry. */
const FIELDS_LENGTH = L.BaseDllName + 16 - L.DllBase;

/**
 * PsLoadedModuleList → KLDR_DATA_TABLE_ENTRY: base, size and names of every loaded kernel module,
 * in load order (spec 2.4: GetVersion names the list head). An entry whose fields cannot be read
 * ends the walk; a name that cannot be read is empty.
 */
export async function walkLoadedModules(read: KernelMemoryReader, listHead: bigint, options: ModuleWalkOptions = {}): Promise<KernelModule[]> {
  const { entries } = await walkListEntries(read, listHead, options);
  const modules: KernelModule[] = [];
  for (const entry of entries) {
    const fields = await read(entry + BigInt(L.DllBase), FIELDS_LENGTH);
    if (fields === undefined) break;
    const v = new DataView(fields.buffer, fields.byteOffset, fields.byteLength);
    const name = await unicodeString(read, v, L.BaseDllName - L.DllBase);
    const fullName = options.fullNames === true ? await unicodeString(read, v, L.FullDllName - L.DllBase) : undefined;
    modules.push({
      entry,
      base: v.getBigUint64(0, true),
      size: v.getUint32(L.SizeOfImage - L.DllBase, true),
      name,
      ...(fullName === undefined ? {} : { fullName }),
    });
  }
  return modules;
}

/** Reads the UTF-16 text of a UNICODE_STRING whose header is at `at` in `header`; empty if unreadable. */
async function unicodeString(read: KernelMemoryReader, header: DataView, at: number): Promise<string> {
  const length = Math.min(header.getUint16(at + UnicodeString64Offset.Length, true), MAX_NAME_BYTES) & ~1;
  if (length === 0) return '';
  const text = await read(header.getBigUint64(at + UnicodeString64Offset.Buffer, true), length);
  return text === undefined ? '' : new TextDecoder('utf-16le').decode(text);
}
