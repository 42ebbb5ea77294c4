import type { DebuggerSession, GetVersion64 } from '@vmkd/kd-protocol';

/**
 * What a debugger without symbols can read of a Windows kernel: GetVersion names
 * PsLoadedModuleList and (through DebuggerDataList) KDDEBUGGER_DATA64, whose PsActiveProcessHead
 * starts the process list. Every pointer comes from target memory; walks are bounded and stop on a
 * cycle or an unreadable entry, so a damaged list yields a shorter answer, never a hang.
 */

const MAX_LIST_ENTRIES = 512;
/** KDDEBUGGER_DATA64 fields (public layout, wdbgexts.h). */
const KDBG = { OwnerTag: 0x10, PsActiveProcessHead: 0x50 } as const;
/** KLDR_DATA_TABLE_ENTRY on x64 (InLoadOrderLinks at 0). */
const LDR = { DllBase: 0x30, SizeOfImage: 0x40, BaseDllName: 0x58 } as const;

/**
 * EPROCESS offsets by build number, as the public symbols of those builds give them. A build not
 * listed has no process walk (`monitor ps` says so) rather than a guess.
 */
const EPROCESS_BY_BUILD: ReadonlyMap<number, { pid: number; links: number; parent: number; name: number }> = new Map([
  [7600, { pid: 0x180, links: 0x188, parent: 0x290, name: 0x2e0 }],
  [7601, { pid: 0x180, links: 0x188, parent: 0x290, name: 0x2e0 }],
  [14393, { pid: 0x2e8, links: 0x2f0, parent: 0x3e0, name: 0x450 }],
  [17134, { pid: 0x2e0, links: 0x2e8, parent: 0x3e0, name: 0x450 }],
  [18362, { pid: 0x2e8, links: 0x2f0, parent: 0x3e8, name: 0x450 }],
  [19041, { pid: 0x440, links: 0x448, parent: 0x540, name: 0x5a8 }],
  [19042, { pid: 0x440, links: 0x448, parent: 0x540, name: 0x5a8 }],
  [19043, { pid: 0x440, links: 0x448, parent: 0x540, name: 0x5a8 }],
  [19044, { pid: 0x440, links: 0x448, parent: 0x540, name: 0x5a8 }],
  [19045, { pid: 0x440, links: 0x448, parent: 0x540, name: 0x5a8 }],
]);

export interface KernelModule {
  readonly base: bigint;
  readonly size: number;
  readonly name: string;
}

export interface KernelProcess {
  readonly eprocess: bigint;
  readonly pid: number;
  readonly parentPid: number;
  readonly name: string;
}

const view = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

async function readExact(session: DebuggerSession, address: bigint, length: number): Promise<Uint8Array | undefined> {
  const r = await session.readVirtual(address, length);
  return r.bytesRead === length ? r.data : undefined;
}

async function readPointer(session: DebuggerSession, address: bigint): Promise<bigint | undefined> {
  const b = await readExact(session, address, 8);
  return b === undefined ? undefined : view(b).getBigUint64(0, true);
}

async function readUnicodeString(session: DebuggerSession, address: bigint): Promise<string> {
  const header = await readExact(session, address, 16);
  if (header === undefined) return '';
  const length = Math.min(view(header).getUint16(0, true), 512) & ~1;
  if (length === 0) return '';
  const text = await readExact(session, view(header).getBigUint64(8, true), length);
  return text === undefined ? '' : Buffer.from(text).toString('utf16le');
}

/** The Flink chain of a LIST_ENTRY64 from its head, each entry's address once. */
async function listEntries(session: DebuggerSession, head: bigint): Promise<bigint[]> {
  const seen = new Set<bigint>([head]);
  const out: bigint[] = [];
  let entry = await readPointer(session, head);
  while (entry !== undefined && entry !== 0n && !seen.has(entry) && out.length < MAX_LIST_ENTRIES) {
    seen.add(entry);
    out.push(entry);
    entry = await readPointer(session, entry);
  }
  return out;
}

/** PsLoadedModuleList → KLDR_DATA_TABLE_ENTRY: base, size and base name of every loaded kernel module. */
export async function walkModules(session: DebuggerSession, version: GetVersion64): Promise<KernelModule[]> {
  const modules: KernelModule[] = [];
  for (const entry of await listEntries(session, version.psLoadedModuleList)) {
    const fields = await readExact(session, entry + BigInt(LDR.DllBase), LDR.SizeOfImage + 4 - LDR.DllBase);
    if (fields === undefined) break;
    const base = view(fields).getBigUint64(0, true);
    const size = view(fields).getUint32(LDR.SizeOfImage - LDR.DllBase, true);
    modules.push({ base, size, name: await readUnicodeString(session, entry + BigInt(LDR.BaseDllName)) });
  }
  return modules;
}

/** PsActiveProcessHead → EPROCESS.ActiveProcessLinks; undefined when the build's offsets are not known. */
export async function walkProcesses(session: DebuggerSession, version: GetVersion64): Promise<KernelProcess[] | undefined> {
  const offsets = EPROCESS_BY_BUILD.get(version.minorVersion);
  if (offsets === undefined) return undefined;
  const kdbg = await readPointer(session, version.debuggerDataList);
  if (kdbg === undefined) return [];
  const tag = await readExact(session, kdbg + BigInt(KDBG.OwnerTag), 4);
  if (tag === undefined || Buffer.from(tag).toString('latin1') !== 'KDBG') return [];
  const head = await readPointer(session, kdbg + BigInt(KDBG.PsActiveProcessHead));
  if (head === undefined) return [];
  const processes: KernelProcess[] = [];
  for (const links of await listEntries(session, head)) {
    const eprocess = links - BigInt(offsets.links);
    const pid = await readPointer(session, eprocess + BigInt(offsets.pid));
    const parent = await readPointer(session, eprocess + BigInt(offsets.parent));
    const name = await readExact(session, eprocess + BigInt(offsets.name), 15);
    if (pid === undefined || parent === undefined || name === undefined) break;
    processes.push({ eprocess, pid: Number(pid), parentPid: Number(parent), name: Buffer.from(name).toString('latin1').replace(/\0.*$/s, '') });
  }
  return processes;
}
