import type { Socket } from 'node:net';

/** Which bytes a faulty line damages: each byte independently, from a seeded generator (a run replays). */
export interface LineFaults {
  /** Probability a byte arrives with its value changed. */
  readonly corrupt: number;
  /** Probability a byte never arrives. */
  readonly drop: number;
  readonly seed: number;
}

export interface FaultCounts {
  corrupted: number;
  dropped: number;
}

/** A deterministic generator (LCG): the same seed damages the same bytes. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/**
 * Relays bytes both ways between two sockets, damaging them while `faults` is on: a byte is
 * corrupted (XORed with 1 … 255) or dropped with the given probabilities. Counts what it did.
 */
export function relayWithFaults(a: Socket, b: Socket, faults: LineFaults): { counts: FaultCounts; setActive(on: boolean): void } {
  const random = lcg(faults.seed);
  const counts: FaultCounts = { corrupted: 0, dropped: 0 };
  let active = false;
  const pipe = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (!active) {
        to.write(chunk);
        return;
      }
      const out = Buffer.allocUnsafe(chunk.length);
      let n = 0;
      for (const byte of chunk) {
        const r = random();
        if (r < faults.corrupt) {
          out[n++] = byte ^ (1 + Math.floor(random() * 255));
          counts.corrupted++;
        } else if (r < faults.corrupt + faults.drop) {
          counts.dropped++;
        } else {
          out[n++] = byte;
        }
      }
      if (n > 0) to.write(out.subarray(0, n));
    });
    from.on('error', () => undefined);
  };
  pipe(a, b);
  pipe(b, a);
  return {
    counts,
    setActive(on) {
      active = on;
    },
  };
}
