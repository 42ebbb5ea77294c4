import type { DebuggerSession, MemoryReadResult } from '@vmkd/kd-protocol';

/**
 * Sequential read-ahead for bulk memory reads (gdb's `dump`, lldb's `memory read`): after a full
 * read of at least `minLength` bytes at A, the next equally long block at A + length is read
 * while the reply travels to the client and the client asks for it. The client's round trip and
 * the KD reads then overlap instead of adding up. A prefetch is only used for the exact next
 * block on the same CPU, and is dropped whenever anything may have changed memory (a write, a
 * breakpoint, the kernel running).
 */
export class ReadAhead {
  private pending: { address: bigint; length: number; processor: number; result: Promise<MemoryReadResult> } | undefined;
  private generation = 0;

  constructor(
    private readonly session: DebuggerSession,
    private readonly minLength = 4096,
  ) {}

  async read(address: bigint, length: number, processor: number): Promise<MemoryReadResult> {
    const p = this.pending;
    this.pending = undefined;
    let result: MemoryReadResult;
    if (p !== undefined && p.address === address && p.length === length && p.processor === processor) {
      result = await p.result;
    } else {
      result = await this.session.readVirtual(address, length, { processor });
    }
    if (result.bytesRead === length && length >= this.minLength) {
      const generation = this.generation;
      const next = address + BigInt(length);
      const prefetch = this.session.readVirtual(next, length, { processor });
      // A failed prefetch is simply not used; the client's own request will report the error.
      prefetch.catch(() => undefined);
      if (generation === this.generation) this.pending = { address: next, length, processor, result: prefetch };
    }
    return result;
  }

  /** Memory may have changed (or the kernel runs): forget the prefetched block. */
  invalidate(): void {
    this.generation++;
    this.pending = undefined;
  }
}
