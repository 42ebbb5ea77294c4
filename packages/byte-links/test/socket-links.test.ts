import { spawn } from 'node:child_process';
import { lstat, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVmkdError, type ByteLink, type ByteLinkListener } from '@vmkd/kd-protocol';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import {
  connectTcpByteLink,
  connectUnixByteLink,
  listenByteLinks,
  listenTcpByteLinks,
  listenUnixByteLinks,
  openByteLink,
  createSocketByteLink,
} from '../src/index.js';
import { collectBytes, endOf, nextConnection, pattern } from '../src/testing/index.js';

interface Pair {
  client: ByteLink;
  server: ByteLink;
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-sf-'));
  open.push({ close: () => rm(dir, { recursive: true, force: true }) });
});

async function tcpPair(): Promise<Pair & { listener: ByteLinkListener }> {
  const listener = await listenTcpByteLinks({ port: 0 });
  open.push(listener);
  const accepted = nextConnection(listener);
  const port = Number(new URL(listener.address).port);
  const client = await connectTcpByteLink({ port });
  const server = await accepted;
  open.push(client, server);
  return { client, server, listener };
}

async function unixPair(): Promise<Pair & { listener: ByteLinkListener }> {
  const path = join(dir, 'kd.sock');
  const listener = await listenUnixByteLinks({ path });
  open.push(listener);
  const accepted = nextConnection(listener);
  const client = await connectUnixByteLink({ path });
  const server = await accepted;
  open.push(client, server);
  return { client, server, listener };
}

async function writeAll(link: ByteLink, bytes: Uint8Array, chunkSizes: number[]): Promise<void> {
  let offset = 0;
  for (let i = 0; offset < bytes.byteLength; i += 1) {
    const size = chunkSizes[i % chunkSizes.length];
    await link.write(bytes.subarray(offset, offset + size));
    offset += size;
  }
}

const noUnixSockets = skipUnlessCapable('unix-sockets');

function expectCode(error: unknown, code: string): void {
  expect(isVmkdError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
}

for (const [kind, makePair] of [
  ['tcp', tcpPair],
  ['unix', unixPair],
] as const) {
  const skipReason = kind === 'unix' ? noUnixSockets : undefined;
  describe.skipIf(skipReason !== undefined)(titleWithSkip(`${kind} byte links`, skipReason), () => {
    it('carries a large transfer in order, both directions at once', async () => {
      const { client, server } = await makePair();
      const up = pattern(1024 * 1024, 1);
      const down = pattern(512 * 1024, 2);
      const gotUp = collectBytes(server, up.byteLength);
      const gotDown = collectBytes(client, down.byteLength);
      await Promise.all([writeAll(client, up, [1, 7, 4096, 65_536, 3]), writeAll(server, down, [16_000, 1, 999])]);
      expect(Buffer.from(await gotUp).equals(Buffer.from(up))).toBe(true);
      expect(Buffer.from(await gotDown).equals(Buffer.from(down))).toBe(true);
      expect(client.stats()).toMatchObject({ bytesOut: up.byteLength, bytesIn: down.byteLength });
      expect(server.stats()).toMatchObject({ bytesOut: down.byteLength, bytesIn: up.byteLength });
    });

    it('keeps bytes sent before anyone subscribed', async () => {
      const { client, server } = await makePair();
      await client.write(Uint8Array.of(1, 2, 3));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect([...(await collectBytes(server, 3))]).toEqual([1, 2, 3]);
    });

    it('a connecting link keeps bytes sent before anyone subscribed too', async () => {
      const { client, server } = await makePair();
      await server.write(Uint8Array.of(4, 5, 6));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect([...(await collectBytes(client, 3))]).toEqual([4, 5, 6]);
    });

    it('a connecting link hands out chunks that later reads never overwrite', async () => {
      const { client, server } = await makePair();
      const kept: Uint8Array[] = []; // the chunks as delivered, not copies
      let total = 0;
      const sent = pattern(40 * 4113, 3);
      const done = new Promise<void>((resolve, reject) => {
        const sub = client.data$.subscribe({
          next: (chunk) => {
            kept.push(chunk);
            total += chunk.byteLength;
            if (total >= sent.byteLength) {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
        });
      });
      for (let at = 0; at < sent.byteLength; at += 4113) {
        await server.write(sent.subarray(at, at + 4113));
        if (at % (8 * 4113) === 0) await new Promise((resolve) => setTimeout(resolve, 2)); // separate reads
      }
      await done;
      expect(kept.length).toBeGreaterThan(1);
      expect(Buffer.concat(kept).equals(Buffer.from(sent))).toBe(true);
    });

    it('close: completes data$ on both sides, is idempotent, later writes reject with ERR_LINK_CLOSED', async () => {
      const { client, server } = await makePair();
      const serverEnd = endOf(server.data$);
      const clientEnd = endOf(client.data$);
      await Promise.all([client.close(), client.close()]);
      expect(await clientEnd).toBe('complete');
      expect(await serverEnd).toBe('complete');
      const error = await client.write(Uint8Array.of(1)).catch((e: unknown) => e);
      expectCode(error, 'ERR_LINK_CLOSED');
      expect((error as { canceled: boolean }).canceled).toBe(true);
      // The peer learns it is alone: its writes reject as disconnected, not hang.
      expectCode(await server.write(Uint8Array.of(1)).catch((e: unknown) => e), 'ERR_LINK_DISCONNECTED');
    });

    it('a killed peer process ends data$ and fails writes with ERR_LINK_DISCONNECTED', async () => {
      const { listener } = await makePair();
      const target = kind === 'tcp' ? { port: Number(new URL(listener.address).port), host: '127.0.0.1' } : { path: listener.address.slice(5) };
      const accepted = nextConnection(listener);
      const child = spawn(process.execPath, [
        '-e',
        `const s = require('node:net').connect(${JSON.stringify(target)}, () => s.write('x')); setInterval(() => {}, 1000);`,
      ]);
      const server = await accepted;
      open.push(server);
      const got = collectBytes(server, 1);
      const ended = endOf(server.data$);
      await got;
      child.kill('SIGKILL');
      const end = await ended;
      expect(end === 'complete' || isVmkdError(end, 'ERR_LINK_DISCONNECTED')).toBe(true);
      const error = await server.write(Uint8Array.of(1)).catch((e: unknown) => e);
      expectCode(error, 'ERR_LINK_DISCONNECTED');
      expect((error as { disconnected: boolean }).disconnected).toBe(true);
    });

    it.runIf(kind === 'tcp')('a peer that resets the connection errors data$ with ERR_LINK_DISCONNECTED', async () => {
      const { listener } = await makePair();
      const accepted = nextConnection(listener);
      const raw: Socket = kind === 'tcp' ? connect({ port: Number(new URL(listener.address).port), host: '127.0.0.1' }) : connect({ path: listener.address.slice(5) });
      await new Promise((resolve) => raw.once('connect', resolve));
      const server = await accepted;
      open.push(server);
      const ended = endOf(server.data$);
      raw.write('abc');
      await new Promise((resolve) => setTimeout(resolve, 20));
      raw.resetAndDestroy();
      const end = await ended;
      expectCode(end, 'ERR_LINK_DISCONNECTED');
      expect((end as { disconnected: boolean }).disconnected).toBe(true);
    });

    it('listener close completes connections$', async () => {
      const { listener } = await makePair();
      const ended = endOf(listener.connections$);
      await listener.close();
      expect(await ended).toBe('complete');
    });
  });
}

describe('write coalescing', () => {
  /** A real loopback connection; the near end wrapped as a byte link whose socket writes are counted. */
  async function countedPair(): Promise<{ link: ByteLink; peer: Socket; writes: () => number }> {
    const server = createServer();
    open.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const near = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1' });
    await new Promise((resolve) => near.once('connect', resolve));
    const peer = await accepted;
    open.push({ close: () => Promise.resolve(void peer.destroy()) });
    let writes = 0;
    const write = near.write.bind(near) as (...args: unknown[]) => boolean;
    (near as unknown as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
      writes += 1;
      return write(...args);
    };
    const link = createSocketByteLink(near, 'counted');
    open.push(link);
    return { link, peer, writes: () => writes };
  }

  function received(peer: Socket, count: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      peer.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        total += chunk.length;
        if (total >= count) resolve(Buffer.concat(chunks));
      });
      peer.once('error', reject);
    });
  }

  it('writes made in one turn go out as one socket write, in order, and each settles', async () => {
    const { link, peer, writes } = await countedPair();
    // What a KDCOM end does after a read: the 16-byte ACK, then its own next frame.
    const parts = [pattern(16, 1), pattern(4017, 2), pattern(1, 3), pattern(300, 4)];
    const got = received(peer, 16 + 4017 + 1 + 300);
    await Promise.all(parts.map((part) => link.write(part)));
    expect(writes()).toBe(1);
    expect((await got).equals(Buffer.concat(parts.map((part) => Buffer.from(part))))).toBe(true);
    expect(link.stats()).toMatchObject({ bytesOut: 16 + 4017 + 1 + 300, chunksOut: 4 });
    // The next turn's writes are a write of their own.
    await link.write(pattern(8, 5));
    expect(writes()).toBe(2);
  });

  it('bytes written just before close() still reach the peer, ahead of the end', async () => {
    const { link, peer } = await countedPair();
    const got = received(peer, 5);
    const ended = new Promise<void>((resolve) => peer.once('end', resolve));
    const written = link.write(Uint8Array.of(1, 2, 3, 4, 5)).catch((e: unknown) => e);
    await link.close();
    expect([...(await got)]).toEqual([1, 2, 3, 4, 5]);
    await ended;
    // A write cut short by close() settles (rejected as closed), never hangs.
    const outcome = await written;
    expect(outcome === undefined || isVmkdError(outcome, 'ERR_LINK_CLOSED')).toBe(true);
  });
});

describe('connecting', () => {
  it('a refused TCP connection is ERR_SERIAL_CONNECT_FAILED, not a hang', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    expectCode(await connectTcpByteLink({ port }).catch((e: unknown) => e), 'ERR_SERIAL_CONNECT_FAILED');
  });

  it('bad options are ERR_SERIAL_BAD_OPTIONS', async () => {
    expectCode(await connectTcpByteLink({ port: 70_000 }).catch((e: unknown) => e), 'ERR_SERIAL_BAD_OPTIONS');
    expectCode(await openByteLink({ kind: 'unix', path: '' }).catch((e: unknown) => e), 'ERR_SERIAL_BAD_OPTIONS');
  });
});

describe('TCP listener address policy', () => {
  it('binds loopback by default', async () => {
    const listener = await listenByteLinks({ kind: 'tcp', port: 0 });
    open.push(listener);
    expect(listener.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses a non-loopback bind without allowRemote', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      expectCode(await listenTcpByteLinks({ host, port: 0 }).catch((e: unknown) => e), 'ERR_SERIAL_REMOTE_BIND_REFUSED');
    }
  });

  it('binds a wildcard address when allowRemote says so', async () => {
    const listener = await listenTcpByteLinks({ host: '0.0.0.0', port: 0, allowRemote: true });
    open.push(listener);
    expect(listener.address).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
  });
});

describe.skipIf(noUnixSockets !== undefined)(titleWithSkip('Unix listener files', noUnixSockets), () => {
  it('creates the socket owner-only (0600) and removes it on close', async () => {
    const path = join(dir, 'mode.sock');
    const listener = await listenUnixByteLinks({ path });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await listener.close();
    await expect(lstat(path)).rejects.toThrow();
  });

  it('replaces a stale socket file left by a dead server', async () => {
    const path = join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect((await lstat(path)).isSocket()).toBe(true);
    const listener = await listenUnixByteLinks({ path });
    open.push(listener);
    const accepted = nextConnection(listener);
    const client = await connectUnixByteLink({ path });
    open.push(client, await accepted);
  });

  it('refuses a path where a server is alive, or a regular file', async () => {
    const path = join(dir, 'live.sock');
    open.push(await listenUnixByteLinks({ path }));
    expectCode(await listenUnixByteLinks({ path }).catch((e: unknown) => e), 'ERR_SERIAL_ADDRESS_IN_USE');
    const file = join(dir, 'file');
    await writeFile(file, 'keep me');
    expectCode(await listenUnixByteLinks({ path: file }).catch((e: unknown) => e), 'ERR_SERIAL_ADDRESS_IN_USE');
  });
});
