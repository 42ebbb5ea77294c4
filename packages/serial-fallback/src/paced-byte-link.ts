import { Observable, Subject } from 'rxjs';
import type { Subscription } from 'rxjs';
import type { ByteLink, ByteLinkStats } from '@vmkd/kd-protocol';
import { SerialErrorCode, serialError } from './errors.js';
import { LineSchedule, sleepUntil, sliceBytesFor } from './line-schedule.js';
import { linkClosedError } from '@vmkd/byte-links';
import type { PacingOptions } from './options.js';

const DEFAULT_MAX_BUFFERED = 1024 * 1024;

export interface PacedByteLinkStats extends ByteLinkStats {
  /** Inbound bytes dropped because the receive buffer was full (a UART overrun). */
  overrunBytes: number;
}

export interface PacedByteLink extends ByteLink {
  stats(): PacedByteLinkStats;
}

interface TxItem {
  chunk: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Validate pacing options (before any I/O) and fill in the defaults. */
export function checkPacing(options: PacingOptions): { bitsPerByte: number; maxBuffered: number } {
  const bitsPerByte = options.bitsPerByte ?? 10;
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  if (!(options.baud > 0) || !Number.isFinite(options.baud) || !(bitsPerByte > 0) || !(maxBuffered > 0)) {
    throw serialError(SerialErrorCode.BadOptions, 'pacing needs a positive baud, bitsPerByte and maxBufferedBytes', {
      details: { baud: options.baud, bitsPerByte, maxBufferedBytes: maxBuffered },
    });
  }
  return { bitsPerByte, maxBuffered };
}

/**
 * Make a byte link behave like a UART line of `baud` bit/s with `bitsPerByte` bits per byte
 * (10 for 8N1). Both directions are paced: a write settles once the line has "sent" its last byte
 * (and the slices went to the inner link as they were sent), and received bytes are delivered no
 * faster than the line could have carried them. Pace one end of a connection; pacing both ends
 * adds latency, not throughput loss.
 *
 * Buffers are bounded: at most `maxBufferedBytes` wait to be sent (further writes reject with
 * `ERR_SERIAL_BUFFER_FULL`) and at most `maxBufferedBytes` wait to be delivered (the rest is dropped
 * and counted as overrun, as a real UART drops bytes nobody reads in time; KDCOM resends them).
 */
export function createPacedByteLink(link: ByteLink, options: PacingOptions): PacedByteLink {
  const { bitsPerByte, maxBuffered } = checkPacing(options);
  const bytesPerSecond = options.baud / bitsPerByte;
  const byteTimeMs = 1000 / bytesPerSecond;
  const slice = sliceBytesFor(bytesPerSecond);
  const name = `${link.name}@${options.baud}`;
  const stats: PacedByteLinkStats = { bytesIn: 0, bytesOut: 0, chunksIn: 0, chunksOut: 0, overrunBytes: 0 };

  // ── transmit ──
  const txSchedule = new LineSchedule(byteTimeMs);
  const txQueue: TxItem[] = [];
  let txQueuedBytes = 0;
  let txRunning = false;
  let closed = false;

  async function pumpTx(): Promise<void> {
    txRunning = true;
    while (txQueue.length > 0 && !closed) {
      const item = txQueue[0];
      try {
        for (let offset = 0; offset < item.chunk.byteLength; offset += slice) {
          const part = item.chunk.subarray(offset, offset + slice);
          await sleepUntil(txSchedule.reserve(part.byteLength));
          if (closed) throw linkClosedError(name);
          await link.write(part);
        }
        txQueue.shift();
        txQueuedBytes -= item.chunk.byteLength;
        item.resolve();
      } catch (error) {
        txQueue.shift();
        txQueuedBytes -= item.chunk.byteLength;
        item.reject(closed ? linkClosedError(name) : (error as Error));
      }
    }
    txSchedule.markIdle();
    txRunning = false;
  }

  function write(chunk: Uint8Array): Promise<void> {
    if (closed) return Promise.reject(linkClosedError(name));
    if (chunk.byteLength === 0) return Promise.resolve();
    if (txQueuedBytes + chunk.byteLength > maxBuffered) {
      return Promise.reject(
        serialError(SerialErrorCode.BufferFull, `${name}: more than ${maxBuffered} bytes waiting for the line`, {
          details: { queued: txQueuedBytes, chunk: chunk.byteLength },
        }),
      );
    }
    stats.bytesOut += chunk.byteLength;
    stats.chunksOut += 1;
    return new Promise<void>((resolve, reject) => {
      // Copy: the caller may reuse its buffer once write() settles, but we send it in slices later.
      txQueue.push({ chunk: chunk.slice(), resolve, reject });
      txQueuedBytes += chunk.byteLength;
      if (!txRunning) void pumpTx();
    });
  }

  // ── receive ──
  const rxSchedule = new LineSchedule(byteTimeMs);
  const rxQueue: Uint8Array[] = [];
  let rxQueuedBytes = 0;
  let rxRunning = false;
  let rxEnd: { error?: unknown } | undefined;
  const data = new Subject<Uint8Array>();
  let innerSubscription: Subscription | undefined;

  function finishRx(): void {
    if (closed) return;
    if (rxEnd?.error !== undefined) data.error(rxEnd.error);
    else data.complete();
  }

  async function pumpRx(): Promise<void> {
    rxRunning = true;
    while (rxQueue.length > 0 && !closed) {
      const head = rxQueue[0];
      const part = head.subarray(0, slice);
      await sleepUntil(rxSchedule.reserve(part.byteLength));
      if (closed) break;
      if (part.byteLength === head.byteLength) rxQueue.shift();
      else rxQueue[0] = head.subarray(part.byteLength);
      rxQueuedBytes -= part.byteLength;
      stats.bytesIn += part.byteLength;
      stats.chunksIn += 1;
      data.next(part);
    }
    rxSchedule.markIdle();
    rxRunning = false;
    if (rxEnd !== undefined) finishRx();
  }

  function receive(chunk: Uint8Array): void {
    const room = maxBuffered - rxQueuedBytes;
    const kept = chunk.byteLength <= room ? chunk : chunk.subarray(0, Math.max(0, room));
    stats.overrunBytes += chunk.byteLength - kept.byteLength;
    if (kept.byteLength === 0) return;
    rxQueue.push(kept);
    rxQueuedBytes += kept.byteLength;
    if (!rxRunning) void pumpRx();
  }

  const data$ = new Observable<Uint8Array>((subscriber) => {
    const subscription = data.subscribe(subscriber);
    innerSubscription ??= link.data$.subscribe({
      next: receive,
      // Bytes already on the line still arrive before the end is reported.
      error: (error: unknown) => {
        rxEnd = { error };
        if (!rxRunning) finishRx();
      },
      complete: () => {
        rxEnd = {};
        if (!rxRunning) finishRx();
      },
    });
    return subscription;
  });

  let closePromise: Promise<void> | undefined;
  function close(): Promise<void> {
    closePromise ??= (async () => {
      closed = true;
      for (const item of txQueue.splice(0)) item.reject(linkClosedError(name));
      txQueuedBytes = 0;
      rxQueue.length = 0;
      rxQueuedBytes = 0;
      data.complete();
      innerSubscription?.unsubscribe();
      await link.close();
    })();
    return closePromise;
  }

  return { name, data$, write, close, stats: () => ({ ...stats }) };
}
