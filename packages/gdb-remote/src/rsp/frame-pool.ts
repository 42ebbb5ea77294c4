/**
 * Reusable buffers for the large replies (`m` and `x` memory reads, up to a packet each). A bulk
 * read sends one such frame per client request; allocating each afresh (and, before, a hex string
 * of the same size on the JS heap) made the garbage collector the largest single cost of serving
 * gdb's `dump` (docs/endpoints.md, the gdb bench profile). A frame goes back to the pool only once
 * the socket has taken it and it can no longer be resent (rsp-connection.ts).
 */
export class FramePool {
  private readonly free: ArrayBuffer[] = [];

  constructor(
    /** Bytes per buffer: the largest frame it must hold. */
    readonly capacity: number,
    private readonly keep = 3,
  ) {}

  take(): ArrayBuffer {
    return this.free.pop() ?? new ArrayBuffer(this.capacity);
  }

  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.capacity && this.free.length < this.keep && !this.free.includes(buffer)) this.free.push(buffer);
  }
}
