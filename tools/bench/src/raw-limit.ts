import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VmkdError } from '@vmkd/kd-protocol';
import { startReadyChild, type ReadyChild } from '@vmkd/connect/internal';
import { BenchErrorCode } from './errors.js';
import { childCpuSeconds } from './process-usage.js';
import { serveReadPattern } from './raw-replier.js';
import { READ_PATTERN, WIRE_BYTES_PER_READ } from './read-pattern.js';
import type { RawLimitResult } from './result-types.js';
import { summarize } from './stats.js';

export { READ_PATTERN, WIRE_BYTES_PER_READ } from './read-pattern.js';

export interface RawLimitOptions {
  readonly socket: 'unix' | 'tcp';
  readonly roundTrips: number;
  /** Give up after this long (default 60 s). */
  readonly timeoutMs?: number;
  /**
   * Where the replying end runs: in this process (`in-process`, the default, as the single-process
   * cells have both ends) or in a child process (`child`, Unix socket only, as the two-process
   * cells have the target). The child's CPU time is counted with this process's.
   */
  readonly replier?: 'in-process' | 'child';
  /** Untimed round trips on the same connection before the measured ones (default 0). */
  readonly warmupRoundTrips?: number;
}

/**
 * Pushes the read pattern, stop-and-wait as KD does it, over a real socket with no protocol work:
 * bytes are counted, never parsed. The replying end runs in this process (as the single-process
 * cells have both ends) or in a child (as the two-process cells have the target). What is left is
 * the cost of the socket, the event loop and the copies — the most any KDCOM stack of that shape
 * could reach here.
 */
export async function measureRawLimit(options: RawLimitOptions): Promise<RawLimitResult> {
  const { roundTrips } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const inChild = options.replier === 'child';
  if (inChild && options.socket !== 'unix') {
    throw new VmkdError(BenchErrorCode.BadOption, 'the raw limit with a child replier runs on a Unix socket only');
  }
  const dir = options.socket === 'unix' ? await mkdtemp(join(tmpdir(), 'vmkd-bench-raw-')) : undefined;
  const server = inChild ? undefined : createServer({ noDelay: true });
  const sockets: Socket[] = [];
  let child: ReadyChild | undefined;
  try {
    let address: string | number;
    if (server === undefined) {
      const path = join(dir ?? tmpdir(), 'raw.sock');
      child = await startReadyChild(import.meta.url, 'cells/raw-replier-child', [path]);
      address = path;
    } else {
      server.on('connection', (s) => {
        sockets.push(s);
        serveReadPattern(s);
      });
      address = await listen(server, dir === undefined ? undefined : join(dir, 'raw.sock'));
    }
    const request = new Uint8Array(READ_PATTERN.request).fill(0x30);
    const ack = new Uint8Array(READ_PATTERN.ack).fill(0x69);

    const client = typeof address === 'string' ? connect({ path: address }) : connect({ host: '127.0.0.1', port: address, noDelay: true });
    sockets.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });

    // Stop-and-wait: each round trip's reply (and the target's ACK) in, our ACK and the next request out.
    const perTrip = READ_PATTERN.ack + READ_PATTERN.reply;
    let onData: (chunk: Buffer) => void = () => undefined;
    client.on('data', (chunk: Buffer) => onData(chunk));
    const pump = (trips: number, onTrip: (done: number) => void): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        let done = 0;
        let have = 0;
        const timer = setTimeout(
          () => reject(new VmkdError(BenchErrorCode.Timeout, `raw ${options.socket} limit: ${done} of ${trips} round trips in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const onError = (error: Error): void => {
          clearTimeout(timer);
          reject(error);
        };
        client.once('error', onError);
        onData = (chunk) => {
          have += chunk.length;
          while (have >= perTrip) {
            have -= perTrip;
            client.write(ack);
            done++;
            onTrip(done);
            if (done === trips) {
              clearTimeout(timer);
              client.off('error', onError);
              resolve();
              return;
            }
            client.write(request);
          }
        };
        client.write(request);
      });

    // Untimed first, on the same connection, so both ends' hot paths are compiled (as the cells warm up).
    if ((options.warmupRoundTrips ?? 0) > 0) await pump(options.warmupRoundTrips ?? 0, () => undefined);

    const cpu0 = process.cpuUsage();
    const childCpu0 = child === undefined ? undefined : childCpuSeconds(child.pid);
    const t0 = performance.now();
    // Batches of the same size as the cells' read calls (256 KiB of payload), for a median rate.
    const batch = Math.ceil((256 * 1024) / READ_PATTERN.payload);
    const batchRates: number[] = [];
    let batchStart = t0;
    await pump(roundTrips, (done) => {
      if (done % batch === 0) {
        const t = performance.now();
        batchRates.push((batch * READ_PATTERN.payload) / ((t - batchStart) / 1000));
        batchStart = t;
      }
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const childCpu = child === undefined || childCpu0 === undefined ? 0 : (childCpuSeconds(child.pid) ?? childCpu0) - childCpu0;
    const mib = (roundTrips * READ_PATTERN.payload) / 1048576;
    const rates = batchRates.length > 0 ? batchRates : [(roundTrips * READ_PATTERN.payload) / seconds];
    return {
      id: `raw-${options.socket}${inChild ? '-2proc' : ''}`,
      socket: options.socket,
      processes: inChild ? 2 : 1,
      description: `the read pattern (${READ_PATTERN.request} + ${READ_PATTERN.ack} + ${READ_PATTERN.reply} + ${READ_PATTERN.ack} bytes, stop-and-wait) over a ${options.socket === 'unix' ? 'Unix socket' : 'loopback TCP socket'}, no protocol work, ${inChild ? 'the replying end in a child process' : 'both ends in this process'}`,
      roundTrips,
      roundTripsPerSecond: roundTrips / seconds,
      payloadBytesPerSecond: (roundTrips * READ_PATTERN.payload) / seconds,
      payloadRate: { ...summarize(rates), samples: rates },
      wireBytesPerRoundTrip: WIRE_BYTES_PER_READ,
      cpuSecondsPerMiB: ((cpu.user + cpu.system) / 1e6 + childCpu) / mib,
    };
  } finally {
    for (const s of sockets) s.destroy();
    await child?.close();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

function listen(server: Server, path: string | undefined): Promise<string | number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      const a = server.address();
      resolve(path ?? (typeof a === 'object' && a !== null ? a.port : 0));
    };
    if (path === undefined) server.listen(0, '127.0.0.1', done);
    else server.listen(path, done);
  });
}
