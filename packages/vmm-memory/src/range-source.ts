import type { FileHandle } from 'node:fs/promises';
import { VmmMemoryErrorCode, vmmError } from './errors.js';
import type { MemorySource, MemorySourceStats } from './memory-source.js';
import { locate, type PhysicalLayout } from './physical-layout.js';

/**
 * A MemorySource over one positioned-read handle: a memory-backend file, a .vmem, or
 * /proc/PID/mem (where the "offset" of a range is the host virtual address QEMU mapped it at).
 */
export function createRangeSource(description: string, layout: PhysicalLayout, handle: FileHandle, onClose?: () => Promise<void>): MemorySource {
  let closed = false;
  const stats = { reads: 0, bytes: 0 };
  return {
    description,
    layout,
    async readPhysicalInto(pa, into) {
      if (closed) throw vmmError(VmmMemoryErrorCode.Closed, `${description}: the memory source is closed`);
      let done = 0;
      while (done < into.length) {
        const at = locate(layout, pa + BigInt(done));
        if (at === undefined) break;
        const n = Number(at.span < BigInt(into.length - done) ? at.span : BigInt(into.length - done));
        let got = 0;
        while (got < n) {
          let r;
          try {
            r = await handle.read(into, done + got, n - got, Number(at.offset) + got);
          } catch (error) {
            throw vmmError(VmmMemoryErrorCode.SourceIo, `${description}: reading guest-physical 0x${(pa + BigInt(done + got)).toString(16)} failed`, { pa: `0x${(pa + BigInt(done + got)).toString(16)}` }, error);
          }
          if (r.bytesRead === 0) {
            throw vmmError(VmmMemoryErrorCode.SourceIo, `${description}: the backing store ends at offset 0x${(at.offset + BigInt(got)).toString(16)}, inside the RAM layout (${layout.description})`, {
              offset: `0x${(at.offset + BigInt(got)).toString(16)}`,
            });
          }
          got += r.bytesRead;
        }
        done += n;
      }
      stats.reads++;
      stats.bytes += done;
      return done;
    },
    stats: (): MemorySourceStats => ({ ...stats }),
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
      await onClose?.();
    },
  };
}
