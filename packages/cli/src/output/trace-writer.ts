import { open } from 'node:fs/promises';
import { isVmkdError, VmkdError } from '@vmkd/kd-protocol';
import { RouterErrorCode, type TraceRecordSink } from '@vmkd/router';

/**
 * The JSONL trace file of `vmkd route --trace` (and the relay's): the router hands records to a
 * `TraceRecordSink`; this one turns them into lines on a file without ever blocking the route.
 */

/** Where trace lines go: a file (the usual case) or anything that can take bytes one write at a time. */
export interface TraceSink {
  /** Settles when the chunk is written; the writer never has two writes in flight. */
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface TraceWriterOptions {
  /**
   * Most bytes of encoded lines held while the sink is busy (default 1 MiB). A record that does not
   * fit is dropped and counted: a slow disk must never slow KD traffic or grow memory without bound.
   */
  readonly maxBufferedBytes?: number;
  /** Append to an existing file instead of truncating it (paths only). */
  readonly append?: boolean;
}

export interface TraceWriterStats {
  /** Lines handed to the sink (written or in the write in flight). */
  records: number;
  bytes: number;
  /** Records dropped because the buffer was full or the sink had failed. */
  dropped: number;
  bufferedBytes: number;
  /** The high-water mark of `bufferedBytes`; never above `maxBufferedBytes`. */
  maxBufferedSeen: number;
  readonly maxBufferedBytes: number;
}

export interface TraceWriter extends TraceRecordSink {
  /** Queue one record as a JSON line. Returns false if it was dropped. Never throws, never waits. */
  write(record: object): boolean;
  stats(): TraceWriterStats;
  /** Resolves when everything queued so far has reached the sink. */
  flush(): Promise<void>;
  /** Flushes, then closes the sink. Idempotent. */
  close(): Promise<void>;
  /** The sink's first write error, if any (later records are dropped and counted). */
  readonly error: VmkdError | undefined;
}

const DEFAULT_MAX_BUFFERED = 1 << 20;
/** Lines are batched into writes of about this size, so one write never copies the whole buffer. */
const BATCH_BYTES = 64 * 1024;

/** A sink on a file (or a FIFO, or a device), writing each chunk fully before settling. */
export async function openFileTraceSink(path: string, append = false): Promise<TraceSink> {
  let handle;
  try {
    handle = await open(path, append ? 'a' : 'w');
  } catch (cause) {
    throw new VmkdError(RouterErrorCode.TraceWrite, `cannot open trace file ${path}`, { cause, details: { path } });
  }
  const file = handle;
  return {
    async write(chunk) {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    },
    close: () => file.close(),
  };
}

/**
 * JSONL trace output with a hard memory bound. Policy: **drop with a counter** (not backpressure),
 * because the trace is a tap on live KD traffic and a stalled disk must not stall the debugger.
 * When the sink catches up after drops, a `{"kind":"trace-dropped","count":N}` line is written first,
 * so a reader of the file can see exactly where and how much is missing.
 */
export function createTraceWriter(target: string | TraceSink, options: TraceWriterOptions = {}): TraceWriter {
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  if (!Number.isFinite(maxBufferedBytes) || maxBufferedBytes < 1) {
    throw new VmkdError(RouterErrorCode.BadOption, `maxBufferedBytes must be ≥ 1, got ${String(maxBufferedBytes)}`);
  }
  // The file opens in the background so a route can start tracing at once; lines queue (bounded) meanwhile.
  const sinkReady: Promise<TraceSink> = typeof target === 'string' ? openFileTraceSink(target, options.append) : Promise.resolve(target);
  sinkReady.catch(() => undefined); // reported through `error` on the first write
  const encoder = new TextEncoder();
  const pending: Uint8Array[] = [];
  const stats: TraceWriterStats = { records: 0, bytes: 0, dropped: 0, bufferedBytes: 0, maxBufferedSeen: 0, maxBufferedBytes };
  let droppedUnreported = 0;
  let error: VmkdError | undefined;
  let pumping: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const takeBatch = (): Uint8Array => {
    const parts: Uint8Array[] = [];
    let size = 0;
    if (droppedUnreported > 0) {
      parts.push(encoder.encode(`${JSON.stringify({ t: Date.now(), kind: 'trace-dropped', count: droppedUnreported })}\n`));
      size += parts[0]?.byteLength ?? 0;
      droppedUnreported = 0;
    }
    while (pending.length > 0 && (parts.length === 0 || size < BATCH_BYTES)) {
      const line = pending.shift() as Uint8Array;
      stats.bufferedBytes -= line.byteLength;
      stats.records += 1;
      parts.push(line);
      size += line.byteLength;
    }
    const batch = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      batch.set(part, at);
      at += part.byteLength;
    }
    return batch;
  };

  const pump = async (): Promise<void> => {
    while (error === undefined && (pending.length > 0 || droppedUnreported > 0)) {
      const batch = takeBatch();
      try {
        const sink = await sinkReady;
        await sink.write(batch);
        stats.bytes += batch.byteLength;
      } catch (cause) {
        error = isVmkdError(cause) ? cause : new VmkdError(RouterErrorCode.TraceWrite, 'trace sink write failed', { cause });
        stats.dropped += pending.length;
        pending.length = 0;
        stats.bufferedBytes = 0;
      }
    }
  };

  const kick = (): void => {
    if (pumping !== undefined) return;
    pumping = pump().finally(() => {
      pumping = undefined;
      // Records may have arrived during the last await; start again rather than strand them.
      if (error === undefined && (pending.length > 0 || droppedUnreported > 0)) kick();
    });
  };

  return {
    write(record) {
      if (error !== undefined || closing !== undefined) {
        stats.dropped += 1;
        return false;
      }
      const line = encoder.encode(`${JSON.stringify(record, jsonReplacer)}\n`);
      if (stats.bufferedBytes + line.byteLength > maxBufferedBytes) {
        stats.dropped += 1;
        droppedUnreported += 1;
        return false;
      }
      pending.push(line);
      stats.bufferedBytes += line.byteLength;
      stats.maxBufferedSeen = Math.max(stats.maxBufferedSeen, stats.bufferedBytes);
      kick();
      return true;
    },
    stats: () => ({ ...stats }),
    async flush() {
      while (pumping !== undefined) await pumping;
    },
    close() {
      closing ??= (async () => {
        while (pumping !== undefined) await pumping;
        const sink = await sinkReady.catch(() => undefined);
        await sink?.close();
      })();
      return closing;
    },
    get error() {
      return error;
    },
  };
}

/** Bytes and bigints become hex strings, so any decoded packet serialises. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  return value;
}
