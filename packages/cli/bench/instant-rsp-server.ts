import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { encodeBinaryPacket, encodeHexPacket } from '@vmkd/gdb-remote';

/**
 * gdb's own ceiling for the dump bench: an RSP server that answers every memory read (`m`, `x`)
 * at once from memory it already holds, with the reply frame built before the timed dump (each
 * distinct request's frame is cached on first sight; the bench runs one untimed dump first).
 * Whatever time gdb then takes for `dump binary memory` is gdb's own: reading the replies off the
 * socket, checking and decoding them, writing the file. No stub can make that gdb faster than
 * this, so it is the yardstick for the part of the gdb / DebuggerSession ratio that belongs to
 * the endpoint.
 *
 * The `m` replies are the endpoint's own frames (encodeHexPacket), so gdb reads the same
 * characters from both. It speaks just enough RSP for `target remote` + `dump` (gdb manual, "Remote Protocol"):
 * qSupported with the same PacketSize the endpoint advertises, QStartNoAckMode, `?`, a `g` of
 * zeros (gdb takes a short `g` as "the rest unavailable"), `m` and gdb 16's binary `x` from
 * `memory` at `base` (E0e elsewhere), `k`/`D`, and the empty reply to everything else.
 */
export interface InstantRspServer {
  readonly port: number;
  /** Memory requests answered since the server opened (cached or not). */
  readonly requests: number;
  close(): Promise<void>;
}

const HEX = '0123456789abcdef';
/** gdb's `x` reply: `b` then the bytes (gdb manual, "Packets"). */
const BINARY_REPLY = 0x62;

function frame(body: Buffer): Buffer {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += body[i];
  return Buffer.concat([Buffer.from('$'), body, Buffer.from(`#${HEX[(sum >> 4) & 15]}${HEX[sum & 15]}`)]);
}

const text = (body: string): Buffer => frame(Buffer.from(body, 'latin1'));

export async function openInstantRspServer(memory: Uint8Array, base: bigint, packetSize: number): Promise<InstantRspServer> {
  const cache = new Map<string, Buffer>();
  const sockets = new Set<Socket>();
  let requests = 0;

  const answer = (body: string): Buffer | undefined => {
    if (body.startsWith('qSupported')) return text(`PacketSize=${packetSize.toString(16)};QStartNoAckMode+;binary-upload+`);
    if (body === 'QStartNoAckMode') return text('OK');
    if (body === '?') return text('S05');
    if (body === 'g') return text('00'.repeat(17 * 8));
    if (body === 'qAttached') return text('1');
    if (body === 'D') return text('OK');
    if (body === 'k') return undefined;
    if (body[0] === 'm' || body[0] === 'x') {
      requests++;
      const cached = cache.get(body);
      if (cached !== undefined) return cached;
      const binary = body[0] === 'x';
      const [a, l] = body.slice(1).split(',');
      const address = BigInt(`0x${a}`);
      const length = Math.min(parseInt(l, 16), binary ? packetSize - 1 : Math.floor(packetSize / 2));
      const offset = address - base;
      let reply: Buffer;
      if (offset < 0n || offset >= BigInt(memory.length)) reply = text('E0e');
      else {
        const at = Number(offset);
        // Framed exactly as the endpoint frames it (run-length encoding included; `x` as gdb 16 reads it).
        const bytes = memory.subarray(at, Math.min(memory.length, at + length));
        reply = Buffer.from(binary ? encodeBinaryPacket(BINARY_REPLY, bytes, undefined, { runLength: true }) : encodeHexPacket(bytes));
      }
      cache.set(body, reply);
      return reply;
    }
    return text('');
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let noAck = false;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const start = pending.indexOf('$');
        if (start < 0) {
          pending = '';
          return;
        }
        const end = pending.indexOf('#', start);
        if (end < 0 || end + 2 >= pending.length) {
          pending = pending.slice(start);
          return;
        }
        const body = pending.slice(start + 1, end);
        pending = pending.slice(end + 3);
        if (!noAck) socket.write('+');
        const reply = answer(body);
        if (body === 'QStartNoAckMode') noAck = true;
        if (reply === undefined) {
          socket.end();
          return;
        }
        socket.write(reply);
        if (body === 'D') socket.end();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
