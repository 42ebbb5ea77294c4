import { KdLimits, NtStatus, type DebuggerSession, type MemoryReadResult } from '@vmkd/kd-protocol';

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One predicted client request: the block at `address`, filled one KD read at a time. */
interface Block {
  readonly address: bigint;
  readonly length: number;
  readonly processor: number;
  readonly data: Uint8Array;
  filled: number;
  /** The reads stopped short (unreadable memory, a failed KD request, or the block was dropped). */
  ended: boolean;
  /** The client asked for this block; it leaves the queue once complete. */
  taken: boolean;
  readonly waiters: (() => void)[];
}

/**
 * Sequential read-ahead for bulk memory reads (gdb's `dump`, lldb's `memory read`). RSP clients
 * ask for one block at a time and wait for it, so without read-ahead the KD reads of block N+1
 * only start once the client has decoded block N and asked again: the two processes take turns.
 * After a full read of at least `minLength` bytes at A, the next `depth` equally long blocks are
 * read from the kernel while the reply travels and the client decodes it, so the KD reads and the
 * client's work overlap.
 *
 * The prefetch runs one KD read (at most 3,944 bytes) at a time, lets the event loop run after
 * each, and looks at its queue before each one: when the client asks for anything else, or memory
 * may have changed (a write, a breakpoint, the kernel resuming), the queue is dropped and the next
 * request waits for at most the one KD read in flight, however slow the line (KD has no way to
 * cancel a request it sent). A block is served once, to the exact request it predicted; nothing is
 * kept across requests.
 */
export class ReadAhead {
  private blocks: Block[] = [];
  private pumping = false;
  /** The buffer of the block served last: the caller is done with it once it asks again. */
  private lastServed: Uint8Array | undefined;
  /** Buffers of served blocks, for the next ones (a bulk read allocates none after its first). */
  private readonly spare: Uint8Array[] = [];

  constructor(
    private readonly session: DebuggerSession,
    private readonly minLength = 4096,
    private readonly depth = 2,
    private readonly chunk: number = KdLimits.MaxManipulateData,
  ) {}

  async read(address: bigint, length: number, processor: number): Promise<MemoryReadResult> {
    // Requests come one at a time (rsp-connection.ts): the previous reply has been framed.
    if (this.lastServed !== undefined && this.spare.length <= this.depth) this.spare.push(this.lastServed);
    this.lastServed = undefined;
    const head = this.blocks.find((b) => !b.taken);
    if (head !== undefined && head.address === address && head.length === length && head.processor === processor) {
      head.taken = true;
      // Queue the next blocks before waiting, so the KD reads run on without a gap.
      this.extend(address + BigInt(length), length, processor);
      await this.settled(head);
      this.blocks = this.blocks.filter((b) => b !== head);
      if (head.filled === length) {
        this.lastServed = head.data;
        return { data: head.data, bytesRead: length, status: NtStatus.Success };
      }
      // Short: the direct read below reports exactly what the kernel says about it.
    }
    this.invalidate();
    const result = await this.session.readVirtual(address, length, { processor });
    if (result.bytesRead === length && length >= this.minLength) this.extend(address + BigInt(length), length, processor);
    return result;
  }

  /** Memory may have changed (or the kernel runs), or the client went: drop everything queued. */
  invalidate(): void {
    const dropped = this.blocks;
    this.blocks = [];
    for (const b of dropped) {
      b.ended = true;
      this.wake(b);
    }
  }

  /** Queues blocks from `next` on until `depth` untaken ones wait, and keeps the reads going. */
  private extend(next: bigint, length: number, processor: number): void {
    // The untaken blocks are always the run that starts at `next` (a mismatch empties the queue).
    let waiting = this.blocks.filter((b) => !b.taken).length;
    let at = next + BigInt(waiting * length);
    for (; waiting < this.depth; waiting++, at += BigInt(length)) {
      const reuse = this.spare.findIndex((d) => d.length === length);
      const data = reuse < 0 ? new Uint8Array(length) : this.spare.splice(reuse, 1)[0];
      this.blocks.push({ address: at, length, processor, data, filled: 0, ended: false, taken: false, waiters: [] });
    }
    void this.pump();
  }

  /** The one read loop: the first block still missing bytes gets its next KD read. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const b = this.blocks.find((x) => !x.ended && x.filled < x.length);
        if (b === undefined) return;
        const n = Math.min(this.chunk, b.length - b.filled);
        let got = 0;
        try {
          const r = await this.session.readVirtualInto(b.address + BigInt(b.filled), b.data.subarray(b.filled, b.filled + n), { processor: b.processor });
          got = r.bytesRead;
        } catch {
          // A failed prefetch is simply not used; the client's own request reports the error.
        }
        if (b.ended) continue; // dropped while the read was in flight
        b.filled += got;
        if (got < n) b.ended = true;
        if (b.ended || b.filled === b.length) this.wake(b);
        // Let the event loop run between KD reads. A guest in this process (the virtual kernel)
        // answers through promises alone, so without this a whole prefetch ran before the socket
        // was looked at again: the client's next request and the reply just framed waited behind
        // it, and gdb and the KD reads took turns instead of overlapping (gdb 16's 16 MiB dump
        // over KDRPC: 2.6× vmkd's own read before, 2.0× after).
        await yieldToEventLoop();
      }
    } finally {
      this.pumping = false;
    }
  }

  private settled(b: Block): Promise<void> {
    if (b.ended || b.filled === b.length) return Promise.resolve();
    return new Promise((resolve) => b.waiters.push(resolve));
  }

  private wake(b: Block): void {
    for (const w of b.waiters.splice(0)) w();
  }
}
