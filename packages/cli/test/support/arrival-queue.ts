/**
 * What a socket delivered, taken one item at a time by a replayed client that waits with a
 * deadline (the radare2 wires): items queue up as they arrive; next() hands out the oldest, or
 * waits for one until the deadline or until the queue is closed (the peer went away).
 */
export class ArrivalQueue<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private closedBecause: string | undefined;

  push(item: T): void {
    this.items.push(item);
    this.waiter?.();
  }

  /** No more items will come: next() throws `reason` once the queue is empty. */
  close(reason: string): void {
    this.closedBecause = reason;
    this.waiter?.();
  }

  /** Items that arrived and were not taken yet, oldest first. */
  pending(): T[] {
    return [...this.items];
  }

  /**
   * The oldest item, waiting for one until `deadline` (performance.now() time). Throws
   * "<close reason> while waiting for <what>" or "nothing arrived in time while waiting for <what>";
   * `what` is asked only then, so it can describe everything read so far.
   */
  async next(deadline: number, what: () => string): Promise<T> {
    for (;;) {
      if (this.items.length > 0) return this.items.shift() as T;
      if (this.closedBecause !== undefined) throw new Error(`${this.closedBecause} while waiting for ${what()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`nothing arrived in time while waiting for ${what()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }
}
