import type { Socket } from 'node:net';

/** Damage on the line: one byte in `corruptOneIn` flipped, one in `dropOneIn` lost (0 disables). */
export interface LineFaults {
  readonly corruptOneIn: number;
  readonly dropOneIn: number;
  readonly seed: number;
}

export interface FaultLine {
  /** Bytes damaged so far, both directions. */
  readonly counts: { corrupted: number; dropped: number };
  /** Damage from now on (true) or pass bytes unchanged (false). */
  set(active: boolean): void;
}

/**
 * A relay between two sockets that damages bytes at random, both ways: what a noisy serial line
 * does to a KDCOM stream (KD spec 1.7), with a deterministic PRNG so a run can be replayed.
 */
export function faultLine(a: Socket, b: Socket, faults: LineFaults): FaultLine {
  const counts = { corrupted: 0, dropped: 0 };
  let state = faults.seed >>> 0 || 1;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const pCorrupt = faults.corruptOneIn > 0 ? 1 / faults.corruptOneIn : 0;
  const pDrop = faults.dropOneIn > 0 ? 1 / faults.dropOneIn : 0;
  let active = false;
  const pipe = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (to.destroyed) return;
      if (!active) {
        to.write(chunk);
        return;
      }
      const out = Buffer.allocUnsafe(chunk.length);
      let n = 0;
      for (const byte of chunk) {
        const r = random();
        if (r < pCorrupt) {
          out[n++] = byte ^ (1 + Math.floor(random() * 255));
          counts.corrupted += 1;
        } else if (r < pCorrupt + pDrop) {
          counts.dropped += 1;
        } else {
          out[n++] = byte;
        }
      }
      to.write(out.subarray(0, n));
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  pipe(a, b);
  pipe(b, a);
  return {
    counts,
    set(on: boolean) {
      active = on;
    },
  };
}
