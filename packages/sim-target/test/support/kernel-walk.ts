import type { DebuggerSession } from '@vmkd/kd-protocol';
import { readKdDebuggerData, walkActiveProcesses, walkLoadedModules, type EprocessWalkOffsets, type KernelMemoryReader } from '@vmkd/kd-protocol/kernel';

/**
 * What a debugger without symbols does after attaching: GetVersion → DebuggerDataList →
 * KDDEBUGGER_DATA64 → PsLoadedModuleList / PsActiveProcessHead → list entries → names, all by
 * ReadVirtualMemory through the session, with kd-protocol's kernel walk. Nothing here asks the
 * simulator; every list must close on its head with consistent Blinks, and every read must be whole.
 */
function strictReader(session: DebuggerSession): KernelMemoryReader {
  return async (address, length) => {
    const r = await session.readVirtual(address, length);
    if (r.bytesRead !== length) throw new Error(`0x${address.toString(16)}: read ${r.bytesRead}/${length} bytes, status 0x${r.status.toString(16)}`);
    return r.data;
  };
}

const u32 = (bytes: Uint8Array | undefined): number => new DataView(bytes!.buffer, bytes!.byteOffset, 4).getUint32(0, true);

export async function walkKernel(session: DebuggerSession, offsets: EprocessWalkOffsets & { directoryTableBase: number }) {
  const read = strictReader(session);
  const version = await session.getVersion();
  const data = await readKdDebuggerData(read, version.debuggerDataList);
  if (data === undefined) throw new Error('no KDDEBUGGER_DATA64');
  const list = { complete: true, maxEntries: 1000 } as const;
  const modules = (await walkLoadedModules(read, data.psLoadedModuleList, { ...list, fullNames: true })).map((m) => ({ base: m.base, size: m.size, baseName: m.name, fullName: m.fullName ?? '' }));
  const processes = await walkActiveProcesses(read, data.psActiveProcessHead, offsets, list);
  return {
    version,
    kdbg: data.address,
    ownerTag: data.ownerTag,
    size: data.size,
    paeEnabled: data.paeEnabled,
    csdVersion: u32(await read(data.cmNtCSDVersion, 4)),
    psLoadedModuleList: data.psLoadedModuleList,
    psActiveProcessHead: data.psActiveProcessHead,
    modules,
    processes,
  };
}
