/**
 * When each byte of a continuous transmission leaves a UART running at a fixed rate.
 *
 * Deadlines are computed from the moment the line started sending (`start + n · byteTime`), never by
 * adding a sleep per chunk, so a late timer makes the next slices go sooner instead of slowing the
 * whole run: over a long transfer the average rate is the line rate, and never above it.
 */
export class LineSchedule {
  private start = 0;
  private scheduled = 0;
  private idle = true;

  constructor(
    private readonly byteTimeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Reserve `bytes` on the line; returns the time their last bit has been sent. */
  reserve(bytes: number): number {
    if (this.idle) {
      this.start = this.now();
      this.scheduled = 0;
      this.idle = false;
    }
    this.scheduled += bytes;
    return this.start + this.scheduled * this.byteTimeMs;
  }

  /** The sender has nothing queued: the next reservation starts a new transmission from "now". */
  markIdle(): void {
    this.idle = true;
  }
}

/** How many bytes to move per timer tick: about 2 ms of line time, at least one byte. */
export function sliceBytesFor(bytesPerSecond: number): number {
  return Math.max(1, Math.min(16 * 1024, Math.floor(bytesPerSecond / 500)));
}

export function sleepUntil(deadline: number, now: () => number = () => performance.now()): Promise<void> {
  const delay = deadline - now();
  if (delay <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(delay)));
}
