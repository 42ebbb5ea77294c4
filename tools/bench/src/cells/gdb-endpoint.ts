import { connect, type Socket } from 'node:net';
import { openEndpoint } from '@vmkd/connect';
import { VmkdError, type PacketLink } from '@vmkd/kd-protocol';
import { route } from '@vmkd/router';
import { BenchErrorCode } from '../errors.js';
import type { BenchSession, OpenedDebugger, PreparedSide } from './debugger-side.js';
import { benchRegistry } from './registry.js';

/**
 * The `gdb://` endpoint cell: the router puts the guest behind `@vmkd/gdb-remote`, and the
 * debugger measured is an RSP client on a real loopback socket (gdb manual, "Remote Protocol"), the
 * way gdb itself reads memory: `qSupported` for the PacketSize, `QStartNoAckMode`, `?`, then `m`
 * packets of the largest size the endpoint allows. The workloads map to RSP as follows, so the
 * figures sit next to the KD endpoints' in the same matrix:
 *
 * - attach: connect, `qSupported`, `QStartNoAckMode`, `?` (the endpoint attaches its KD session);
 * - small-request latency: `qRcmd,kd GetVersion` (`monitor kd GetVersion`), one KD GetVersion
 *   through the endpoint and its text reply in `O` packets;
 * - memory read: `m addr,len` replies hex-decoded into the caller's buffer;
 * - break-in: `vCont;c`, then 0x03 and the `T02` stop reply.
 */

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const ACK = Buffer.from('+');

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i];
  return sum & 0xff;
}

function frame(body: string): Buffer {
  const bytes = Buffer.from(body, 'latin1');
  return Buffer.concat([Buffer.from('$'), bytes, Buffer.from(`#${checksum(bytes).toString(16).padStart(2, '0')}`)]);
}

/** Undoes `}` escapes and `*` run-length encoding of a received body (gdb manual, "Overview"). */
function unescape(raw: Uint8Array): Uint8Array {
  if (raw.indexOf(ESCAPE) < 0 && raw.indexOf(STAR) < 0) return raw;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (b === ESCAPE && i + 1 < raw.length) out.push(raw[++i] ^ 0x20);
    else if (b === STAR && i + 1 < raw.length && out.length > 0) {
      const last = out[out.length - 1];
      for (let n = raw[++i] - 29; n > 0; n--) out.push(last);
    } else out.push(b);
  }
  return Uint8Array.from(out);
}

function rspError(message: string): VmkdError {
  return new VmkdError(BenchErrorCode.GdbReply, message);
}

const HEX_VALUE = (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) t[0x61 + i] = t[0x41 + i] = 10 + i;
  return t;
})();

/**
 * A minimal RSP client: one request at a time, replies matched in order, `O` output packets
 * skipped, acks sent until no-ack mode. Enough for the bench's workloads, with real framing.
 */
class RspBenchClient implements BenchSession {
  private pending: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (body: Uint8Array) => void; reject: (error: Error) => void } | undefined;
  private readonly replies: Uint8Array[] = [];
  private noAck = false;
  private closedError: Error | undefined;
  /** Largest `m` the endpoint serves (half its PacketSize: hex doubles the bytes). */
  private maxRead = 2048;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const gone = (error?: Error): void => {
      this.closedError ??= rspError(`the gdb endpoint closed the connection${error === undefined ? '' : `: ${error.message}`}`);
      this.waiter?.reject(this.closedError);
      this.waiter = undefined;
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
  }

  static open(host: string, port: number, timeoutMs: number): Promise<RspBenchClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => {
        socket.off('error', reject);
        resolve(new RspBenchClient(socket, timeoutMs));
      });
      socket.once('error', reject);
    });
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const start = this.pending.indexOf(DOLLAR);
      if (start < 0) {
        this.pending = Buffer.alloc(0); // acks (`+`) and nothing else
        return;
      }
      const end = this.pending.indexOf(HASH, start + 1);
      if (end < 0 || end + 2 >= this.pending.length) {
        this.pending = this.pending.subarray(start);
        return;
      }
      const raw = this.pending.subarray(start + 1, end);
      const sent = parseInt(this.pending.toString('latin1', end + 1, end + 3), 16);
      this.pending = this.pending.subarray(end + 3);
      if (sent !== checksum(raw)) {
        if (!this.noAck) this.socket.write('-');
        continue;
      }
      if (!this.noAck) this.socket.write(ACK);
      const body = unescape(raw);
      // `O` + hex is console output (monitor text, DbgPrint); `OK` is a reply.
      if (body[0] === 0x4f && !(body.length === 2 && body[1] === 0x4b)) continue;
      if (this.waiter === undefined) this.replies.push(Uint8Array.from(body));
      else {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(body);
      }
    }
  }

  /** The next reply (a `c` has none until the kernel stops). */
  private nextReply(what: string, timeoutMs = this.timeoutMs): Promise<Uint8Array> {
    const queued = this.replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new VmkdError(BenchErrorCode.Timeout, `no reply to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (body) => {
          clearTimeout(timer);
          resolve(body);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  private async request(body: string, timeoutMs?: number): Promise<Uint8Array> {
    this.socket.write(frame(body));
    return this.nextReply(body.slice(0, 24), timeoutMs);
  }

  private static text(body: Uint8Array): string {
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  }

  async attach(options: { timeoutMs?: number } = {}): Promise<unknown> {
    const supported = RspBenchClient.text(await this.request('qSupported:swbreak+;hwbreak+;vContSupported+', options.timeoutMs));
    const size = /PacketSize=([0-9a-f]+)/i.exec(supported);
    if (size !== null) this.maxRead = Math.floor(parseInt(size[1], 16) / 2);
    if (supported.includes('QStartNoAckMode+')) {
      if (RspBenchClient.text(await this.request('QStartNoAckMode')) !== 'OK') throw rspError('QStartNoAckMode refused');
      this.noAck = true;
    }
    const stop = RspBenchClient.text(await this.request('?', options.timeoutMs));
    if (!stop.startsWith('T') && !stop.startsWith('S')) throw rspError(`? answered "${stop.slice(0, 40)}"`);
    return stop;
  }

  async getVersion(): Promise<unknown> {
    const reply = RspBenchClient.text(await this.request(`qRcmd,${Buffer.from('kd GetVersion', 'latin1').toString('hex')}`));
    if (reply !== 'OK') throw rspError(`monitor kd GetVersion answered "${reply.slice(0, 40)}"`);
    return reply;
  }

  readVirtual(address: bigint, length: number): Promise<unknown> {
    return this.readVirtualInto(address, new Uint8Array(length));
  }

  /** `m` packets of the largest size the endpoint allows, hex decoded straight into `target`. */
  async readVirtualInto(address: bigint, target: Uint8Array): Promise<{ bytesRead: number; status: number }> {
    let done = 0;
    while (done < target.length) {
      const n = Math.min(this.maxRead, target.length - done);
      const reply = await this.request(`m${(address + BigInt(done)).toString(16)},${n.toString(16)}`);
      if (reply[0] === 0x45 && reply.length === 3) break; // Exx: nothing readable there
      const got = reply.length >> 1;
      for (let i = 0; i < got; i++) {
        const hi = HEX_VALUE[reply[2 * i]];
        const lo = HEX_VALUE[reply[2 * i + 1]];
        if (hi < 0 || lo < 0) throw rspError(`m reply is not hex at offset ${2 * i}`);
        target[done + i] = (hi << 4) | lo;
      }
      done += got;
      if (got < n) break; // the readable prefix ended
    }
    return { bytesRead: done, status: done === target.length ? 0 : 0xc0000001 };
  }

  /** `vCont;c`: the kernel runs; its stop reply is collected by breakIn(). */
  continue(): Promise<unknown> {
    this.socket.write(frame('vCont;c'));
    return Promise.resolve();
  }

  async breakIn(options: { timeoutMs?: number } = {}): Promise<unknown> {
    this.socket.write(Uint8Array.of(0x03));
    const stop = RspBenchClient.text(await this.nextReply('the interrupt (0x03)', options.timeoutMs));
    if (!stop.startsWith('T02')) throw rspError(`the interrupt was answered "${stop.slice(0, 40)}", not T02`);
    return stop;
  }

  /** `D`: the kernel continues, the endpoint takes the next client. */
  async close(): Promise<void> {
    if (this.closedError === undefined) await this.request('D').catch(() => undefined);
    this.socket.destroy();
  }
}

/**
 * Opens the `gdb://` endpoint URI through the registry, routes the guest to it, and connects the
 * RSP client to the port it reports.
 */
export async function prepareGdbSide(endpointUri: string, guest: PacketLink): Promise<PreparedSide> {
  const endpoint = await openEndpoint(endpointUri, { registry: benchRegistry });
  const r = route(guest, endpoint.link, { closeLinks: false });
  const m = /^gdb:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(endpoint.address ?? '');
  if (m === null) {
    await r.close();
    await endpoint.close();
    throw new VmkdError(BenchErrorCode.BadOption, `${endpointUri}: the endpoint reported no gdb://HOST:PORT address`);
  }
  const host = m[1].replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  return {
    route: r,
    connect: async (timeoutMs): Promise<OpenedDebugger> => {
      const session = await RspBenchClient.open(host, port, timeoutMs);
      return { session, close: () => Promise.resolve() };
    },
    close: async () => {
      await r.close().catch(() => undefined);
      await endpoint.close().catch(() => undefined);
    },
  };
}
