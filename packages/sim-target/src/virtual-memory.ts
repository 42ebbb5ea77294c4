import { translate } from './page-tables.js';
import type { PhysicalMemory } from './physical-memory.js';

/**
 * Kernel virtual memory seen through a CR3: reads return the readable prefix (empty for an unmapped
 * address), writes return the writable prefix, both stopping at the first page that is not present
 * or not backed by RAM. Kernel-debugger writes ignore page protection, as KD's do on Windows.
 */
export class VirtualMemory {
  constructor(
    private readonly memory: PhysicalMemory,
    /** Physical address of the PML4. */
    readonly root: number,
  ) {}

  translate(va: bigint): number | undefined {
    return translate(this.memory, this.root, va)?.pa;
  }

  read(va: bigint, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const done = this.readInto(va, out);
    return done === length ? out : out.slice(0, done);
  }

  /** Fills `out` from `va` up to the first unreadable page; returns the bytes read (the prefix). */
  readInto(va: bigint, out: Uint8Array): number {
    const length = out.length;
    let done = 0;
    while (done < length) {
      const t = translate(this.memory, this.root, va + BigInt(done));
      if (t === undefined) break;
      const n = Math.min(t.span, length - done);
      const got = this.memory.readInto(t.pa, n, out, done);
      done += got;
      if (got < n) break;
    }
    return done;
  }

  write(va: bigint, data: Uint8Array): number {
    let done = 0;
    while (done < data.length) {
      const t = translate(this.memory, this.root, va + BigInt(done));
      if (t === undefined) break;
      const n = Math.min(t.span, data.length - done);
      const got = this.memory.write(t.pa, data.subarray(done, done + n));
      done += got;
      if (got < n) break;
    }
    return done;
  }

  readU64(va: bigint): bigint | undefined {
    const b = this.read(va, 8);
    return b.length === 8 ? new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true) : undefined;
  }
}
