import { concatMap, from, Subject, tap, type Observable, type Subscription } from 'rxjs';
import { formatKdcomEvent, KdcomFrameDecoder, VmkdError, type ByteLink, type ByteLinkStats, type KdcomFrameEvent } from '@vmkd/kd-protocol';
import { RouterErrorCode } from './errors.js';
import { errorRecord } from './error-record.js';
import type { ErrorRecord } from './route-events.js';
import type { TraceRecordSink, TraceSinkStats } from './trace-sink.js';

/** What the relay's tap records. */
export type RelayTap =
  /** One record per chunk, bytes as hex. */
  | 'hex'
  /** Each direction run through a KDCOM deframer: data and control frames, break-ins, garbage, resyncs. */
  | 'frames'
  | 'both';

export interface RelayOptions {
  /** Labels of the two sides in records and stats (default `['a', 'b']`); directions read `a→b`, `b→a`. */
  readonly names?: readonly [string, string];
  /** The tap's records also go here (the CLI's JSONL file writer, or any sink); closed when the relay ends. */
  readonly trace?: TraceRecordSink;
  /** What the tap records (default `hex`). Records go to `events$` whether or not a trace file is set. */
  readonly tap?: RelayTap;
  /**
   * Bytes allowed to wait per direction for a slow writer (default 1 MiB). A transparent relay must
   * not drop bytes (the stream would be corrupt), so overflowing this stops the relay with
   * `ERR_ROUTER_RELAY_OVERFLOW` instead.
   */
  readonly maxBufferedBytes?: number;
  /** Close both byte links when the relay ends (default true). */
  readonly closeLinks?: boolean;
}

export type RelayEvent = { readonly t: number } & (
  | { readonly kind: 'chunk'; readonly dir: string; readonly length: number; readonly hex: string }
  | {
      readonly kind: 'frame';
      readonly dir: string;
      /**
       * kd-protocol's `formatKdcomEvent()` of one deframer event (the shape `kd-decode` prints):
       * `event` is `frame` (data or control, data decoded under `message`), `bad-frame`, `breakin`,
       * `garbage` or `resync`.
       */
      readonly frame: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: 'relay-ended'; readonly side?: string; readonly error?: ErrorRecord }
);

export interface RelayDirectionStats {
  bytes: number;
  chunks: number;
  /** Bytes received but not yet written, now and at most. */
  queuedBytes: number;
  maxQueuedBytes: number;
}

export interface RelayStats {
  readonly directions: Readonly<Record<string, RelayDirectionStats>>;
  readonly links: Readonly<Record<string, ByteLinkStats | undefined>>;
  readonly trace: TraceSinkStats | undefined;
  /** Why the relay ended, if it ended abnormally. */
  readonly error: ErrorRecord | undefined;
}

export interface ByteRelay {
  readonly events$: Observable<RelayEvent>;
  stats(): RelayStats;
  /** Settles when the relay has ended (close(), a side closed or failed, an overflow). Never rejects. */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_MAX_BUFFERED = 1 << 20;

/**
 * A transparent byte relay for diagnosis (socat with a KD-aware tap): bytes both ways, unchanged, in
 * order, with no link termination. It never writes a byte of its own, so it ACKs nothing
 * (kd-protocol spec §5): the two peers run their KDCOM link with each other, as if wired directly.
 */
export function relayBytes(a: ByteLink, b: ByteLink, options: RelayOptions = {}): ByteRelay {
  const [nameA, nameB] = options.names ?? ['a', 'b'];
  const tapMode = options.tap ?? 'hex';
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  if (!Number.isFinite(maxBuffered) || maxBuffered < 1) {
    throw new VmkdError(RouterErrorCode.BadOption, `maxBufferedBytes must be ≥ 1, got ${String(maxBuffered)}`);
  }
  const closeLinks = options.closeLinks ?? true;
  const trace = options.trace;
  const events$ = new Subject<RelayEvent>();
  const subscriptions: Subscription[] = [];
  const directions: Record<string, RelayDirectionStats> = {};
  let error: ErrorRecord | undefined;
  let closing: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const emit = (event: DistributiveOmit<RelayEvent, 't'>): void => {
    const record = { t: performance.timeOrigin + performance.now(), ...event } as RelayEvent;
    trace?.write(record);
    events$.next(record);
  };

  const frameRecord = (dir: string, event: KdcomFrameEvent): void => {
    let frame: Record<string, unknown>;
    try {
      frame = formatKdcomEvent(event);
    } catch (cause) {
      // A frame whose checksum is right but whose message is nonsense: keep the frame, note why.
      frame = { ...formatKdcomEvent(event, { describe: false }), undecodable: errorRecord(cause) };
    }
    emit({ kind: 'frame', dir, frame });
  };

  const pipe = (from$: ByteLink, to: ByteLink, fromName: string, toName: string): void => {
    const dir = `${fromName}→${toName}`;
    const stats: RelayDirectionStats = { bytes: 0, chunks: 0, queuedBytes: 0, maxQueuedBytes: 0 };
    directions[dir] = stats;
    const decoder = tapMode === 'hex' ? undefined : new KdcomFrameDecoder((event) => frameRecord(dir, event));
    subscriptions.push(
      from$.data$
        .pipe(
          tap((chunk) => {
            if (tapMode !== 'frames') emit({ kind: 'chunk', dir, length: chunk.byteLength, hex: toHex(chunk) });
            decoder?.push(chunk);
            stats.queuedBytes += chunk.byteLength;
            stats.maxQueuedBytes = Math.max(stats.maxQueuedBytes, stats.queuedBytes);
            if (stats.queuedBytes > maxBuffered) {
              throw new VmkdError(RouterErrorCode.RelayOverflow, `${dir}: more than ${maxBuffered} bytes waiting for ${to.name}`, {
                details: { dir, queuedBytes: stats.queuedBytes, maxBufferedBytes: maxBuffered },
              });
            }
          }),
          // One write at a time, in order: awaiting each write is the pressure a slow side exerts.
          concatMap((chunk) =>
            from(
              to.write(chunk).then(() => {
                stats.queuedBytes -= chunk.byteLength;
                stats.bytes += chunk.byteLength;
                stats.chunks += 1;
              }),
            ),
          ),
        )
        .subscribe({
          error: (cause: unknown) => void end(fromName, cause),
          complete: () => void end(fromName),
        }),
    );
  };

  const end = (side?: string, cause?: unknown): Promise<void> => {
    closing ??= (async () => {
      if (cause !== undefined) error = errorRecord(cause);
      for (const subscription of subscriptions) subscription.unsubscribe();
      emit({ kind: 'relay-ended', ...(side === undefined ? {} : { side }), ...(error === undefined ? {} : { error }) });
      events$.complete();
      await trace?.close?.().catch(() => undefined);
      if (closeLinks) await Promise.allSettled([a.close(), b.close()]);
      resolveDone();
    })();
    return closing;
  };

  pipe(a, b, nameA, nameB);
  pipe(b, a, nameB, nameA);

  return {
    events$: events$.asObservable(),
    stats: () => ({
      directions: Object.fromEntries(Object.entries(directions).map(([k, v]) => [k, { ...v }])),
      links: { [nameA]: safeStats(a), [nameB]: safeStats(b) },
      trace: trace?.stats?.(),
      error,
    }),
    done,
    close: () => end(),
  };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function toHex(chunk: Uint8Array): string {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('hex');
}


function safeStats(link: ByteLink): ByteLinkStats | undefined {
  try {
    return link.stats();
  } catch {
    return undefined;
  }
}
