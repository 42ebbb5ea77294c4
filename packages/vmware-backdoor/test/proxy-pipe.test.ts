import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { createDebuggerSession, createTargetSession, encodeKdrpcRequest, isVmkdError } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import {
  createEmulatedVmx,
  createKdrpcGuestStack,
  createKdrpcHost,
  createKdrpcProxyPipeClient,
  createKdrpcProxyPipeServer,
  kdrpcProxyUnixGuestScheme,
  kdrpcProxyVmxHandler,
  PROXY_PIPE_MAX_MESSAGE,
  type ProxyPipeDropped,
} from '../src/index.js';
import { encodeProxyFrame } from '../src/internal.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function socketPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vmkd-proxy-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'kdvmware_proxypipe.sock');
}

const v = encodeKdrpcRequest({ command: 'v', version: 0x07e80003 });

const noUnixSockets = skipUnlessCapable('unix-sockets');

describe.skipIf(noUnixSockets !== undefined)(titleWithSkip('KDRPC proxy pipe (Unix socket)', noUnixSockets), () => {
  it('one body in, one reply out; rejections are empty messages; the socket is owner-only', async () => {
    const path = await socketPath();
    const host = createKdrpcHost();
    const server = await createKdrpcProxyPipeServer({ path, host });
    const client = createKdrpcProxyPipeClient({ path });
    cleanups.push(() => host.close(), () => server.close(), () => client.close());

    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(Array.from(await client.call(v))).toEqual([0x2b, 0x2b, 0x6b, 0x64, 0x56, 0x4d, 0x76, 0x41, 0x20, 0x03, 0x00, 0xe8, 0x07]);
    expect((await client.call(Uint8Array.of(0x72, 1, 2))).length).toBe(0);
    expect(server.stats()).toMatchObject({ transactions: 2, rejected: 1 });
  });

  it('an oversized frame drops that client only; the server keeps serving', async () => {
    const path = await socketPath();
    const host = createKdrpcHost();
    const server = await createKdrpcProxyPipeServer({ path, host });
    cleanups.push(() => host.close(), () => server.close());
    const rogue = connect(path);
    const closed = new Promise((resolve) => rogue.on('close', resolve));
    rogue.on('error', () => undefined);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 0x7fffffff, true);
    rogue.write(header);
    await closed;
    expect(server.stats().brokenFrames).toBe(1);
    const client = createKdrpcProxyPipeClient({ path, persistent: true });
    cleanups.push(() => client.close());
    expect((await client.call(v)).length).toBe(13);
    expect((await client.call(v)).length).toBe(13);
  });

  it('without a dispatcher the forwarder gives up after its budget', async () => {
    const path = await socketPath();
    const client = createKdrpcProxyPipeClient({ path, timeoutMs: 100 });
    cleanups.push(() => client.close());
    const started = Date.now();
    await expect(client.call(v)).rejects.toMatchObject({ code: 'ERR_PROXYPIPE_UNAVAILABLE', disconnected: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('a stale socket file is replaced; frames split across writes are reassembled', async () => {
    const path = await socketPath();
    const host = createKdrpcHost();
    const first = await createKdrpcProxyPipeServer({ path, host });
    await first.close();
    const second = await createKdrpcProxyPipeServer({ path, host });
    cleanups.push(() => host.close(), () => second.close());
    const socket = connect(path);
    cleanups.push(() => void socket.destroy());
    const reply = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    const frame = encodeProxyFrame(v);
    socket.write(frame.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 10));
    socket.write(frame.subarray(3));
    expect((await reply).subarray(0, 4).readUInt32LE(0)).toBe(13);
  });

  it('end to end: guest → VMX in proxy mode → pipe → host → DebuggerSession; closing the pipe reports the guest gone', async () => {
    const path = await socketPath();
    const host = createKdrpcHost();
    const server = await createKdrpcProxyPipeServer({ path, host });
    const client = createKdrpcProxyPipeClient({ path, persistent: true });
    const vmx = createEmulatedVmx();
    vmx.register('~kdVMvA', kdrpcProxyVmxHandler(client));
    const sim = createSimTarget({ memorySize: 32 * 1024 * 1024, printIntervalMs: 0 });
    const stack = createKdrpcGuestStack({ vmx });
    const target = createTargetSession(stack.link, sim);
    const session = createDebuggerSession(host, { timeoutMs: 5000 });
    cleanups.push(
      () => session.close(),
      () => host.close(),
      () => server.close(),
      () => client.close(),
      () => target.close(),
      () => stack.close(),
      () => sim.close(),
    );
    await session.attach();
    const size = 1024 * 1024;
    const got = await session.readPhysical(0x200000n, size);
    expect(got.bytesRead).toBe(size);
    expect(Buffer.compare(Buffer.from(got.data), Buffer.from(sim.readPhysical(0x200000n, size)))).toBe(0);

    const gone = firstValueFrom(host.events$.pipe(filter((e) => e.kind === 'disconnect')));
    await server.close();
    expect((await gone).kind).toBe('disconnect');
  });
});

describe('KDRPC proxy pipe: what it refuses and what it reports (issue 16, items 6 and 11)', () => {
  it.runIf(process.platform !== 'win32')('refuses a Windows pipe path off Windows instead of creating a Unix socket named after it', async () => {
    const host = createKdrpcHost();
    cleanups.push(() => host.close());
    const error = await createKdrpcProxyPipeServer({ path: '\\\\.\\pipe\\kdvmware_proxypipe', host }).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_SERIAL_UNSUPPORTED_PLATFORM')).toBe(true);
  });

  it('garbage on the socket is reported and counted, not dropped in silence', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const path = await socketPath();
    const host = createKdrpcHost();
    const dropped: ProxyPipeDropped[] = [];
    const server = await createKdrpcProxyPipeServer({ path, host, onDropped: (event) => dropped.push(event) });
    cleanups.push(() => host.close(), () => server.close());
    for (let i = 0; i < 3; i++) {
      const rogue = connect(path);
      const closed = new Promise((resolve) => rogue.on('close', resolve));
      rogue.on('error', () => undefined);
      rogue.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      await closed;
    }
    expect(server.stats().brokenFrames).toBe(3);
    expect(dropped.map((d) => d.brokenFrames)).toEqual([1, 2, 3]);
    expect(dropped[0]).toMatchObject({ reason: 'frame-too-large', length: 0x20544547, limit: PROXY_PIPE_MAX_MESSAGE });
  });

  it('the kdrpc+proxyunix guest turns those reports into notice lines', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const path = await socketPath();
    const spec = { kind: 'kdrpc-proxy', uri: `kdrpc+proxyunix:${path}`, address: { kind: 'unix', path } } as const;
    const guest = await kdrpcProxyUnixGuestScheme.open(spec, { allowRemote: false });
    cleanups.push(() => guest.close());
    const notice = firstValueFrom(guest.notices$);
    const rogue = connect(path);
    rogue.on('error', () => undefined);
    rogue.write(Buffer.alloc(16, 0xff));
    expect(await notice).toMatch(/kdrpc proxy: dropped a forwarder connection: a frame of 4294967295 bytes exceeds the 262144-byte limit \(1 broken frame so far\)/);
    rogue.destroy();
  });
});
