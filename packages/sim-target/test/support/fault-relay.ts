import type net from 'node:net';

export interface FaultPlan {
  /** Bytes between two faults in each direction. */
  readonly interval: number;
  /** Fault kinds to cycle through. */
  readonly kinds: readonly ('drop' | 'corrupt' | 'reset')[];
  /** Deterministic seed for where inside a chunk a fault lands. */
  readonly seed: number;
}

export interface FaultCounts {
  drop: number;
  corrupt: number;
  reset: number;
}

/** A KDCOM RESET control packet (id 0), spec A.1. */
export const RESET_PACKET = Uint8Array.of(0x69, 0x69, 0x69, 0x69, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

/**
 * A byte relay between two sockets that damages the stream on purpose: drops a byte, flips a
 * byte, or slips a RESET packet in between chunks, once every `interval` bytes per direction.
 */
export function faultRelay(a: net.Socket, b: net.Socket, plan: FaultPlan): { counts: FaultCounts; stop(): void } {
  const counts: FaultCounts = { drop: 0, corrupt: 0, reset: 0 };
  let rng = plan.seed >>> 0 || 1;
  const random = (n: number): number => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) % n;
  };
  let active = true;
  const pipe = (from: net.Socket, to: net.Socket): void => {
    let untilFault = plan.interval;
    let next = 0;
    from.on('data', (chunk: Buffer) => {
      if (!active || to.destroyed) return;
      if (chunk.length < untilFault) {
        untilFault -= chunk.length;
        to.write(chunk);
        return;
      }
      untilFault = plan.interval;
      const kind = plan.kinds[next++ % plan.kinds.length];
      const at = random(chunk.length);
      counts[kind]++;
      if (kind === 'drop') to.write(Buffer.concat([chunk.subarray(0, at), chunk.subarray(at + 1)]));
      else if (kind === 'corrupt') {
        const copy = Buffer.from(chunk);
        copy[at] = copy[at] ^ 0x5a;
        to.write(copy);
      } else {
        to.write(chunk);
        to.write(RESET_PACKET);
      }
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy()); // the far side went away at teardown
  };
  pipe(a, b);
  pipe(b, a);
  return {
    counts,
    stop() {
      active = false;
    },
  };
}
