import type { DebuggerSession } from '@vmkd/kd-protocol';

/** What one walk found and how many KD requests it took. */
export interface ReadyWalk {
  readonly modules: number;
  /** Modules whose debug directory held a CodeView RSDS record (the PDB a debugger loads). */
  readonly pdbs: number;
  readonly requests: number;
}

/** KD transfers are at most this many bytes per request (what vmkd's session splits at). */
const PER_REQUEST = 4000;

/** A malformed kernel structure: the walk stops with this rather than looping or reading wild. */
const MAX_MODULES = 4096;

/**
 * What WinDbg does after connecting before it can load symbols (KD spec §4.1, appendix A):
 * GetVersion, the KDDEBUGGER_DATA64 block on DebuggerDataList, a walk of PsLoadedModuleList
 * (each KLDR_DATA_TABLE_ENTRY and its BaseDllName), and for each module its DOS and NT headers and
 * its debug directory with the CodeView record naming the PDB.
 */
export async function walkToReady(session: DebuggerSession): Promise<ReadyWalk> {
  let requests = 0;
  const read = async (address: bigint, length: number): Promise<DataView> => {
    requests += Math.max(1, Math.ceil(length / PER_REQUEST));
    const r = await session.readVirtual(address, length);
    if (r.bytesRead !== length) throw new Error(`attach-to-ready: read ${r.bytesRead} of ${length} bytes at 0x${address.toString(16)}`);
    return new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  };
  requests++;
  const version = await session.getVersion();
  // DebuggerDataList → the KDDEBUGGER_DATA64 header (List, OwnerTag 'KDBG', Size), then the block.
  const list = (await read(version.debuggerDataList, 8)).getBigUint64(0, true);
  const header = await read(list, 0x18);
  if (header.getUint32(0x10, true) !== 0x4742444b) throw new Error('attach-to-ready: no KDBG tag on DebuggerDataList');
  await read(list, header.getUint32(0x14, true));

  let modules = 0;
  let pdbs = 0;
  const head = version.psLoadedModuleList;
  let entry = (await read(head, 8)).getBigUint64(0, true);
  while (entry !== head) {
    if (++modules > MAX_MODULES) throw new Error('attach-to-ready: PsLoadedModuleList does not end');
    const e = await read(entry, 0xa0);
    const dllBase = e.getBigUint64(0x30, true);
    const nameLength = e.getUint16(0x58, true);
    await read(e.getBigUint64(0x60, true), nameLength);
    const dos = await read(dllBase, 0x40);
    const ntOffset = BigInt(dos.getUint32(0x3c, true));
    // PE32+: signature (4), file header (20), optional header (240) with DataDirectory[6] = debug.
    const nt = await read(dllBase + ntOffset, 0x108);
    const debugRva = nt.getUint32(24 + 112 + 6 * 8, true);
    const debugSize = nt.getUint32(24 + 112 + 6 * 8 + 4, true);
    if (debugRva !== 0 && debugSize >= 28) {
      const dir = await read(dllBase + BigInt(debugRva), Math.min(debugSize, 28 * 16));
      for (let at = 0; at + 28 <= dir.byteLength; at += 28) {
        if (dir.getUint32(at + 12, true) !== 2) continue; // IMAGE_DEBUG_TYPE_CODEVIEW
        const size = dir.getUint32(at + 16, true);
        const rva = dir.getUint32(at + 20, true);
        const cv = await read(dllBase + BigInt(rva), Math.min(size, 512));
        if (cv.getUint32(0, true) === 0x53445352) pdbs++; // 'RSDS'
      }
    }
    entry = e.getBigUint64(0, true);
  }
  return { modules, pdbs, requests };
}
