import { Subject } from 'rxjs';
import type { ByteLink, ByteLinkStats } from '../byte-link.js';
import { LinkErrorCode, VmkdError } from '../errors.js';

/** Which way a chunk travels through a memory byte pair: `a→b` is written on the first end. */
export type MemoryDirection = 'a→b' | 'b→a';

/**
 * Fault injection for tests: sees every chunk before the peer does and returns what the peer gets
 * instead (a shorter, corrupted or empty array; `null` drops the chunk). Must not throw.
 */
export type ByteFault = (chunk: Uint8Array, direction: MemoryDirection) => Uint8Array | null;

export interface MemoryBytePairOptions {
  /** Names of the two ends (default `memory:a`, `memory:b`). */
  names?: readonly [string, string];
  fault?: ByteFault;
}

/** One end of an in-memory byte pair. `abort()` makes the peer see an abnormal disconnect. */
export interface MemoryByteLink extends ByteLink {
  /** Vanish abnormally: the peer's `data$` errors with `ERR_LINK_DISCONNECTED`, ours completes. */
  abort(): void;
}

interface End {
  readonly data: Subject<Uint8Array>;
  readonly stats: ByteLinkStats;
  closed: boolean;
}

/**
 * Two connected byte links (both ends exposed, so a test can play either side of a protocol).
 * Bytes written on one end arrive on the other's `data$` in order, one microtask later, never
 * inside the `write()` call. Chunks are copied on write so the writer may reuse its buffer.
 */
export function createMemoryBytePair(options: MemoryBytePairOptions = {}): [MemoryByteLink, MemoryByteLink] {
  const [nameA, nameB] = options.names ?? ['memory:a', 'memory:b'];
  const a: End = { data: new Subject(), stats: zeroStats(), closed: false };
  const b: End = { data: new Subject(), stats: zeroStats(), closed: false };
  return [makeEnd(nameA, a, b, 'a→b', options.fault), makeEnd(nameB, b, a, 'b→a', options.fault)];
}

function makeEnd(name: string, self: End, peer: End, direction: MemoryDirection, fault: ByteFault | undefined): MemoryByteLink {
  const shutdown = (peerError?: VmkdError): void => {
    if (self.closed) return;
    self.closed = true;
    // Both directions stop: a closed socket delivers nothing further either way.
    queueMicrotask(() => {
      self.data.complete();
      if (peer.closed) return;
      peer.closed = true;
      if (peerError === undefined) peer.data.complete();
      else peer.data.error(peerError);
    });
  };
  return {
    name,
    data$: self.data.asObservable(),
    write(chunk: Uint8Array): Promise<void> {
      if (self.closed) {
        return Promise.reject(new VmkdError(LinkErrorCode.Closed, `${name}: write after close`, { canceled: true }));
      }
      self.stats.bytesOut += chunk.length;
      self.stats.chunksOut += 1;
      let out: Uint8Array | null = chunk.slice();
      if (fault !== undefined) out = fault(out, direction);
      if (out !== null && out.length > 0) {
        const delivered = out;
        queueMicrotask(() => {
          if (peer.closed) return;
          peer.stats.bytesIn += delivered.length;
          peer.stats.chunksIn += 1;
          peer.data.next(delivered);
        });
      }
      return Promise.resolve();
    },
    close(): Promise<void> {
      shutdown();
      return Promise.resolve();
    },
    abort(): void {
      shutdown(new VmkdError(LinkErrorCode.Disconnected, `${name}: peer vanished`, { disconnected: true }));
    },
    stats: () => ({ ...self.stats }),
  };
}

function zeroStats(): ByteLinkStats {
  return { bytesIn: 0, bytesOut: 0, chunksIn: 0, chunksOut: 0 };
}
