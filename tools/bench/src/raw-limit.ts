import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VmkdError } from '@vmkd/kd-protocol';
import { BenchErrorCode } from './errors.js';
import type { RawLimitResult } from './result-types.js';
import { summarize } from './stats.js';

/**
 * The KDCOM shape of one memory read (spec §9, anchor 5): a data frame with the 56-byte manipulate
 * header (16 + 56 + 1), the target's ACK (16), the reply with 4000 bytes of body (16 + 4000 + 1),
 * and the debugger's ACK (16). 4,122 bytes on the wire carrying 3,944 bytes of memory.
 */
export const READ_PATTERN = {
  request: 16 + 56 + 1,
  ack: 16,
  reply: 16 + 4000 + 1,
  payload: 3944,
} as const;
export const WIRE_BYTES_PER_READ = READ_PATTERN.request + READ_PATTERN.ack + READ_PATTERN.reply + READ_PATTERN.ack;

export interface RawLimitOptions {
  readonly socket: 'unix' | 'tcp';
  readonly roundTrips: number;
  /** Give up after this long (default 60 s). */
  readonly timeoutMs?: number;
}

/**
 * Pushes the read pattern, stop-and-wait as KD does it, over a real socket with both ends in this
 * process (as the whole-stack cells have them) and no protocol work: bytes are counted, never
 * parsed. What is left is the cost of the socket, the event loop and the copies — the most any
 * KDCOM stack could reach here.
 */
export async function measureRawLimit(options: RawLimitOptions): Promise<RawLimitResult> {
  const { roundTrips } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dir = options.socket === 'unix' ? await mkdtemp(join(tmpdir(), 'vmkd-bench-raw-')) : undefined;
  const server = createServer({ noDelay: true });
  const sockets: Socket[] = [];
  server.on('connection', (s) => sockets.push(s));
  try {
    const address = await listen(server, dir === undefined ? undefined : join(dir, 'raw.sock'));
    const request = new Uint8Array(READ_PATTERN.request).fill(0x30);
    const ack = new Uint8Array(READ_PATTERN.ack).fill(0x69);
    const reply = new Uint8Array(READ_PATTERN.reply).fill(0x30);

    // The target: a request in → ACK and reply out; then the debugger's ACK.
    server.on('connection', (socket) => {
      socket.setNoDelay?.(true);
      let have = 0;
      let want: 'request' | 'ack' = 'request';
      socket.on('data', (chunk: Buffer) => {
        have += chunk.length;
        for (;;) {
          const need = want === 'request' ? READ_PATTERN.request : READ_PATTERN.ack;
          if (have < need) break;
          have -= need;
          if (want === 'request') {
            socket.write(ack);
            socket.write(reply);
            want = 'ack';
          } else {
            want = 'request';
          }
        }
      });
      socket.on('error', () => undefined);
    });

    const client = typeof address === 'string' ? connect({ path: address }) : connect({ host: '127.0.0.1', port: address, noDelay: true });
    sockets.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // Batches of the same size as the cells' read calls (256 KiB of payload), for a median rate.
    const batch = Math.ceil((256 * 1024) / READ_PATTERN.payload);
    const batchRates: number[] = [];
    let batchStart = t0;
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      let have = 0;
      const perTrip = READ_PATTERN.ack + READ_PATTERN.reply;
      const timer = setTimeout(
        () => reject(new VmkdError(BenchErrorCode.Timeout, `raw ${options.socket} limit: ${done} of ${roundTrips} round trips in ${timeoutMs} ms`)),
        timeoutMs,
      );
      client.on('data', (chunk: Buffer) => {
        have += chunk.length;
        while (have >= perTrip) {
          have -= perTrip;
          client.write(ack);
          done++;
          if (done % batch === 0) {
            const t = performance.now();
            batchRates.push((batch * READ_PATTERN.payload) / ((t - batchStart) / 1000));
            batchStart = t;
          }
          if (done === roundTrips) {
            clearTimeout(timer);
            resolve();
            return;
          }
          client.write(request);
        }
      });
      client.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      client.write(request);
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const mib = (roundTrips * READ_PATTERN.payload) / 1048576;
    const rates = batchRates.length > 0 ? batchRates : [(roundTrips * READ_PATTERN.payload) / seconds];
    return {
      id: `raw-${options.socket}`,
      socket: options.socket,
      description: `the read pattern (${READ_PATTERN.request} + ${READ_PATTERN.ack} + ${READ_PATTERN.reply} + ${READ_PATTERN.ack} bytes, stop-and-wait) over a ${options.socket === 'unix' ? 'Unix socket' : 'loopback TCP socket'}, no protocol work`,
      roundTrips,
      roundTripsPerSecond: roundTrips / seconds,
      payloadBytesPerSecond: (roundTrips * READ_PATTERN.payload) / seconds,
      payloadRate: { ...summarize(rates), samples: rates },
      wireBytesPerRoundTrip: WIRE_BYTES_PER_READ,
      cpuSecondsPerMiB: (cpu.user + cpu.system) / 1e6 / mib,
    };
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
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
