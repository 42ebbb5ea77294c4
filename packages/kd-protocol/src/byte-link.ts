import type { Observable } from 'rxjs';

/** Counters every byte link keeps; read by `vmkd route` stats, the benchmarks and `vmkd doctor`. */
export interface ByteLinkStats {
  bytesIn: number;
  bytesOut: number;
  chunksIn: number;
  chunksOut: number;
}

/**
 * One open, bidirectional byte channel: a socket, a pipe, a pty, a serial device, or one end of an
 * in-memory pair.
 *
 * Rules every implementation follows:
 * - `data$` is hot. Subscribe synchronously after obtaining the link; implementations deliver data
 *   asynchronously (never inside the call that created the link), so nothing is missed.
 * - `data$` completes when the peer closes in an orderly way, and errors with a `VmkdError`
 *   (`ERR_LINK_DISCONNECTED`, `disconnected: true`) when the peer vanishes abnormally.
 * - `write()` settles once the chunk is handed to the OS (or, for a paced link, once the line has
 *   "transmitted" it). Awaiting it is the backpressure signal. After close() it rejects with
 *   `ERR_LINK_CLOSED` and `canceled: true`.
 * - close() is idempotent and completes `data$`.
 */
export interface ByteLink {
  /** Human-readable origin, e.g. `tcp://127.0.0.1:5555` or `pty:/dev/pts/3`. */
  readonly name: string;
  readonly data$: Observable<Uint8Array>;
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  stats(): ByteLinkStats;
}

/**
 * A server that hands out byte links, one per accepted connection (a debugger connecting to a named
 * pipe, a VM connecting to a serial-port socket). `connections$` is hot and completes on close().
 */
export interface ByteLinkListener {
  /** Where peers connect, as a URI (`unix:/run/kd.sock`, `tcp://127.0.0.1:9999`, `pipe://./pipe/kd`). */
  readonly address: string;
  readonly connections$: Observable<ByteLink>;
  close(): Promise<void>;
}
