import type { DebuggerSession } from '@vmkd/kd-protocol';

/**
 * What a debugger without symbols does after attaching: GetVersion → DebuggerDataList →
 * KDDEBUGGER_DATA64 → PsLoadedModuleList / PsActiveProcessHead → list entries → names, all by
 * ReadVirtualMemory through the session. Nothing here asks the simulator.
 */
export interface WalkedModule {
  base: bigint;
  size: number;
  baseName: string;
  fullName: string;
}

export interface WalkedProcess {
  eprocess: bigint;
  pid: number;
  name: string;
  directoryTableBase: bigint;
}

export interface ProcessOffsets {
  uniqueProcessId: number;
  activeProcessLinks: number;
  imageFileName: number;
}

export function kernelReader(session: DebuggerSession) {
  const bytes = async (address: bigint, length: number): Promise<Uint8Array> => {
    const r = await session.readVirtual(address, length);
    if (r.bytesRead !== length) throw new Error(`0x${address.toString(16)}: read ${r.bytesRead}/${length} bytes, status 0x${r.status.toString(16)}`);
    return r.data;
  };
  const view = async (address: bigint, length: number) => {
    const b = await bytes(address, length);
    return new DataView(b.buffer, b.byteOffset, length);
  };
  const u16 = async (a: bigint) => (await view(a, 2)).getUint16(0, true);
  const u32 = async (a: bigint) => (await view(a, 4)).getUint32(0, true);
  const u64 = async (a: bigint) => (await view(a, 8)).getBigUint64(0, true);
  const unicodeString = async (a: bigint) => {
    const length = await u16(a);
    return Buffer.from(await bytes(await u64(a + 8n), length)).toString('utf16le');
  };
  const ansi = async (a: bigint, max: number) => {
    const b = await bytes(a, max);
    const end = b.indexOf(0);
    return Buffer.from(b.subarray(0, end < 0 ? max : end)).toString('latin1');
  };
  /** Entries of a LIST_ENTRY64 list, checking each Blink on the way; bounded. */
  const list = async (head: bigint, max = 1000): Promise<bigint[]> => {
    const out: bigint[] = [];
    let previous = head;
    for (let entry = await u64(head); entry !== head; entry = await u64(entry)) {
      if (out.length >= max) throw new Error(`list at 0x${head.toString(16)} does not close`);
      if ((await u64(entry + 8n)) !== previous) throw new Error(`broken Blink at 0x${entry.toString(16)}`);
      out.push(entry);
      previous = entry;
    }
    return out;
  };
  return { bytes, u16, u32, u64, unicodeString, ansi, list };
}

export async function walkKernel(session: DebuggerSession, offsets: ProcessOffsets & { directoryTableBase: number }) {
  const r = kernelReader(session);
  const version = await session.getVersion();
  const kdbg = await r.u64(version.debuggerDataList);
  const ownerTag = Buffer.from(await r.bytes(kdbg + 0x10n, 4)).toString('latin1');
  const size = await r.u32(kdbg + 0x14n);
  const paeEnabled = await r.u16(kdbg + 0x36n);
  const csdVersion = await r.u32(await r.u64(kdbg + 0x268n));
  const psLoadedModuleList = await r.u64(kdbg + 0x48n);
  const psActiveProcessHead = await r.u64(kdbg + 0x50n);
  const modules: WalkedModule[] = [];
  for (const entry of await r.list(psLoadedModuleList)) {
    modules.push({
      base: await r.u64(entry + 0x30n),
      size: await r.u32(entry + 0x40n),
      fullName: await r.unicodeString(entry + 0x48n),
      baseName: await r.unicodeString(entry + 0x58n),
    });
  }
  const processes: WalkedProcess[] = [];
  for (const links of await r.list(psActiveProcessHead)) {
    const eprocess = links - BigInt(offsets.activeProcessLinks);
    processes.push({
      eprocess,
      pid: Number(await r.u64(eprocess + BigInt(offsets.uniqueProcessId))),
      name: await r.ansi(eprocess + BigInt(offsets.imageFileName), 15),
      directoryTableBase: await r.u64(eprocess + BigInt(offsets.directoryTableBase)),
    });
  }
  return { version, kdbg, ownerTag, size, paeEnabled, csdVersion, psLoadedModuleList, psActiveProcessHead, modules, processes };
}
