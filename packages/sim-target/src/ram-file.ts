import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { VmkdError } from '@vmkd/kd-protocol';
import { fillExpected } from './data-formula.js';
import { SimTargetErrorCode } from './errors.js';
import { PAGE_SIZE, type PhysicalMemory } from './physical-memory.js';

/**
 * The virtual kernel's RAM exposed as a file, the way QEMU's `memory-backend-file` or VMware's
 * `.vmem` exposes a real guest's: byte `pa` of the file is guest-physical `pa` (a linear layout).
 * The simulator keeps RAM in its own sparse pages, so the file is brought up to date whenever a
 * host reader may look at it: when the target stops and after every debugger write while it is
 * stopped. Pages the simulator has not changed since the last sync are not rewritten, so bytes a
 * test writes into the file stay there (that is how a corrupted source is simulated).
 */
export interface RamFile {
  readonly path: string;
  /** Writes every page whose bytes changed since the last sync. */
  sync(): void;
  close(): void;
}

const CHUNK = 1 << 20;

export function createRamFile(memory: PhysicalMemory, path: string): RamFile {
  let fd: number;
  try {
    fd = openSync(path, 'w+', 0o600);
    ftruncateSync(fd, memory.size);
    // Pages nobody wrote hold the formula content; the file starts as exactly that.
    const chunk = new Uint8Array(CHUNK);
    for (let at = 0; at < memory.size; at += CHUNK) {
      const n = Math.min(CHUNK, memory.size - at);
      fillExpected(BigInt(at), chunk.subarray(0, n));
      writeSync(fd, chunk, 0, n, at);
    }
  } catch (error) {
    throw new VmkdError(SimTargetErrorCode.RamFile, `cannot create the RAM file ${path}: ${(error as Error).message}`, { cause: error, details: { path } });
  }
  const shadow = new Map<number, Uint8Array>();
  let open = true;
  const sync = (): void => {
    if (!open) return;
    for (const [pfn, page] of memory.materialised()) {
      const last = shadow.get(pfn);
      if (last !== undefined && Buffer.from(last.buffer, last.byteOffset, PAGE_SIZE).equals(Buffer.from(page.buffer, page.byteOffset, PAGE_SIZE))) continue;
      writeSync(fd, page, 0, PAGE_SIZE, pfn * PAGE_SIZE);
      if (last === undefined) shadow.set(pfn, page.slice());
      else last.set(page);
    }
  };
  sync();
  return {
    path,
    sync,
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}
