import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createDebuggerSession, createTargetSession } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import {
  PROXY_PIPE_MAX_MESSAGE,
  createEmulatedVmx,
  createKdrpcGuestStack,
  createKdrpcHost,
  createKdrpcProxyPipeClient,
  createKdrpcProxyPipeServer,
  kdrpcProxyPipeGuestScheme,
  kdrpcProxyVmxHandler,
  type ProxyPipeDropped,
} from '../src/index.js';

// VirtualKD's proxy pipe on Windows (virtualkd-kdrpc spec §6.3): a message-mode named pipe, one raw
// KDRPC body per message, no length prefix. The peer is a separate process calling kernel32
// directly (test/fixtures/virtualkd-forwarder.mjs), as kdclient does from inside the VMM.

const onWindows = process.platform === 'win32';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let pipes = 0;
const pipeName = (): string => `\\\\.\\pipe\\vmkd-test-proxypipe-${process.pid}-${++pipes}`;
const hex = (s: string): string => s.replace(/\s+/g, '').toLowerCase();
const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

type ForwarderOp =
  | { op: 'call'; hex: string; max?: number }
  | { op: 'open' }
  | { op: 'write'; hex: string }
  | { op: 'read'; max?: number }
  | { op: 'close' }
  | { op: 'sleep'; ms: number };
interface ForwarderResult {
  op: string;
  ok: boolean;
  error: number;
  hex?: string;
  bytes?: number;
}

/** Runs the forwarder process on `pipe` and returns one result per op. */
async function forwarder(pipe: string, ops: ForwarderOp[]): Promise<ForwarderResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'vmkd-fwd-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'script.json');
  await writeFile(script, JSON.stringify({ pipe, ops }));
  const fixture = fileURLToPath(new URL('./fixtures/virtualkd-forwarder.mjs', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [fixture, script],
      { env: { ...process.env, VMKD_FORWARDER_KOFFI: createRequire(import.meta.url).resolve('koffi') }, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
      (error, out, err) => (error ? reject(new Error(`forwarder failed: ${error.message}\n${err}`)) : resolve(out)),
    );
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ForwarderResult);
}

/** A dispatcher that answers each message with its length (u32) and the message reversed: boundaries show. */
function echoHost(): { handleRequest(body: Uint8Array): Promise<Uint8Array>; guestGone(): void; seen: number[] } {
  const seen: number[] = [];
  return {
    seen,
    handleRequest(body) {
      seen.push(body.length);
      if (body.length + 4 > PROXY_PIPE_MAX_MESSAGE) return Promise.resolve(Uint8Array.from(body).reverse());
      const out = Buffer.alloc(4 + body.length);
      out.writeUInt32LE(body.length, 0);
      Buffer.from(body).reverse().copy(out, 4);
      return Promise.resolve(new Uint8Array(out));
    },
    guestGone: () => undefined,
  };
}
/** Resolves (with the time) once the server has served `n` transactions. */
function transactionsReach(server: { stats(): { transactions: number } }, n: number): Promise<number> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (server.stats().transactions >= n) {
        clearInterval(poll);
        resolve(Date.now());
      }
    }, 5);
  });
}

const echoOf = (body: Buffer): string => {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  Buffer.from(body).reverse().copy(out, 4);
  return out.toString('hex');
};

// The spec's byte vectors (§4.11), as the forwarder sends them: the body after "~kdVMvA ".
const V_BODY = hex('76 03 00 E8 07');
const V_REPLY = hex('2B 2B 6B 64 56 4D 76 41 20 03 00 E8 07');
const POLL_BODY = hex('72 08 00 00 00 04 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
const POLL_REPLY = hex(`2B 2B 6B 64 56 4D 76 41 20 72 00 00 00 00 00 00 00 00 00 00 00 00 00 00
  01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 01 00 00`);
const T_BODY = Buffer.concat([Buffer.of(0x74), Buffer.from(Array.from({ length: 512 }, (_, i) => i & 0xff))]).toString('hex');
const T_REPLY = Buffer.concat([Buffer.from('++kdVMvA '), Buffer.from(Array.from({ length: 512 }, (_, i) => (i ^ 0x55) & 0xff))]).toString('hex');

describe.runIf(onWindows)('VirtualKD proxy pipe, message mode (Windows)', () => {
  it('serves raw KDRPC bodies to a CallNamedPipe forwarder: the §4.11 vectors, t, and an empty message for a rejected body', async () => {
    const path = pipeName();
    const host = createKdrpcHost();
    const server = await createKdrpcProxyPipeServer({ path, host });
    cleanups.push(() => host.close(), () => server.close());
    const results = await forwarder(path, [
      { op: 'call', hex: T_BODY }, // t before v: rejected
      { op: 'call', hex: V_BODY },
      { op: 'call', hex: T_BODY },
      { op: 'call', hex: POLL_BODY },
      { op: 'call', hex: '7201' }, // an r body of 2 bytes, not 23
    ]);
    expect(results.map((r) => [r.ok, r.hex])).toEqual([
      [true, ''],
      [true, V_REPLY],
      [true, T_REPLY],
      [true, POLL_REPLY],
      [true, ''],
    ]);
    expect(server.stats()).toMatchObject({ transactions: 5, rejected: 2, brokenFrames: 0 });
    expect(host.status()).toMatchObject({ versionAccepted: true, testsPassed: 1 });
  });

  it('keeps message boundaries: three messages written before the first reply is read come back as three replies', async () => {
    const path = pipeName();
    const host = echoHost();
    const server = await createKdrpcProxyPipeServer({ path, host });
    cleanups.push(() => server.close());
    const messages = [bytes(1, 1), bytes(4000, 2), bytes(31 + 4000, 3)];
    const results = await forwarder(path, [
      { op: 'open' },
      ...messages.map((m) => ({ op: 'write' as const, hex: m.toString('hex') })),
      ...messages.map(() => ({ op: 'read' as const })),
      { op: 'close' },
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => r.op === 'read').map((r) => r.hex)).toEqual(messages.map(echoOf));
    expect(host.seen).toEqual([1, 4000, 4031]);
    expect(server.stats()).toMatchObject({ transactions: 3, rejected: 0 });
  });

  it('carries a message of exactly 256 KiB; one byte more drops that client only, reported with its length', async () => {
    const path = pipeName();
    const host = echoHost();
    const dropped: ProxyPipeDropped[] = [];
    const server = await createKdrpcProxyPipeServer({ path, host, onDropped: (event) => dropped.push(event) });
    cleanups.push(() => server.close());
    const largest = bytes(PROXY_PIPE_MAX_MESSAGE, 7);
    const tooLarge = bytes(PROXY_PIPE_MAX_MESSAGE + 1, 9);
    const results = await forwarder(path, [
      { op: 'call', hex: largest.toString('hex') },
      { op: 'call', hex: tooLarge.toString('hex') },
      { op: 'call', hex: V_BODY.slice(0, 2) },
    ]);
    expect(results[0]).toMatchObject({ ok: true, hex: Buffer.from(largest).reverse().toString('hex') });
    expect(results[1]?.ok).toBe(false); // the server hung up instead of answering
    expect(results[2]).toMatchObject({ ok: true, hex: echoOf(Buffer.of(0x76)) });
    expect(dropped).toEqual([{ reason: 'message-too-large', length: PROXY_PIPE_MAX_MESSAGE + 1, limit: PROXY_PIPE_MAX_MESSAGE, brokenFrames: 1 }]);
    expect(host.seen).toEqual([PROXY_PIPE_MAX_MESSAGE, 1]);
  });

  it('a forwarder that disconnects mid-transaction is dropped; the next one is served; the guest is reported gone after the silence', async () => {
    const path = pipeName();
    const host = createKdrpcHost();
    const server = await createKdrpcProxyPipeServer({ path, host, goneAfterMs: 200 });
    cleanups.push(() => host.close(), () => server.close());
    const first = await forwarder(path, [{ op: 'open' }, { op: 'write', hex: V_BODY }, { op: 'close' }]);
    expect(first.every((r) => r.ok)).toBe(true);
    const gone = firstValueFrom(host.events$.pipe(filter((e) => e.kind === 'disconnect')));
    const second = await forwarder(path, [
      { op: 'open' },
      { op: 'write', hex: V_BODY },
      { op: 'read' },
      { op: 'write', hex: POLL_BODY },
      { op: 'read' },
      { op: 'close' },
      { op: 'call', hex: V_BODY },
    ]);
    expect(second.map((r) => r.hex ?? null)).toEqual([null, null, V_REPLY, null, POLL_REPLY, null, V_REPLY]);
    expect(server.stats()).toMatchObject({ transactions: 4, connections: 0 });
    expect(await gone).toMatchObject({ kind: 'disconnect' });
  });

  it('vmkd forwarder (the emulated VMX in proxy mode) → message pipe → host → DebuggerSession: attach and a 1 MiB read', async () => {
    const path = pipeName();
    const host = createKdrpcHost();
    const server = await createKdrpcProxyPipeServer({ path, host });
    const client = createKdrpcProxyPipeClient({ path });
    const vmx = createEmulatedVmx();
    vmx.register('~kdVMvA', kdrpcProxyVmxHandler(client));
    const sim = createSimTarget({ memorySize: 32 * 1024 * 1024, printIntervalMs: 0 });
    const stack = createKdrpcGuestStack({ vmx });
    const target = createTargetSession(stack.link, sim);
    const session = createDebuggerSession(host, { timeoutMs: 10_000 });
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
    expect(server.stats().transactions).toBeGreaterThan(100);
  });

  it('the kdrpc+proxypipe guest scheme opens the message-mode pipe and says so', async () => {
    const path = pipeName();
    const guest = await kdrpcProxyPipeGuestScheme.open({ kind: 'kdrpc-proxy', uri: 'kdrpc+proxypipe://./pipe/x', address: { kind: 'pipe', path } }, { allowRemote: false });
    cleanups.push(() => guest.close());
    expect(guest.description).toMatch(/message-mode/);
    const results = await forwarder(path, [{ op: 'call', hex: V_BODY }]);
    expect(results[0]).toMatchObject({ ok: true, hex: V_REPLY });
  });

  it('one forwarder at a time: a second one waits in CallNamedPipe while the first holds the pipe, then is served', async () => {
    const path = pipeName();
    const host = createKdrpcHost();
    const server = await createKdrpcProxyPipeServer({ path, host });
    cleanups.push(() => host.close(), () => server.close());
    const holder = forwarder(path, [{ op: 'open' }, { op: 'write', hex: V_BODY }, { op: 'read' }, { op: 'sleep', ms: 3000 }, { op: 'close' }]);
    const firstServed = await transactionsReach(server, 1);
    // The holder is now connected and sleeping: the second forwarder can only be served once it has closed.
    const second = forwarder(path, [{ op: 'call', hex: V_BODY }]);
    const secondServed = await transactionsReach(server, 2);
    const [held, waited] = await Promise.all([holder, second]);
    expect(held.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    expect(waited[0]).toMatchObject({ ok: true, hex: V_REPLY });
    // A lower bound, not a timeout: served alongside the holder, it would have come sooner.
    expect(secondServed - firstServed).toBeGreaterThanOrEqual(2500);
  });

  it('closes cleanly with a forwarder connected and idle: close() returns, the forwarder sees the pipe broken', async () => {
    const path = pipeName();
    const host = createKdrpcHost();
    const server = await createKdrpcProxyPipeServer({ path, host });
    cleanups.push(() => host.close());
    const gone = firstValueFrom(host.events$.pipe(filter((e) => e.kind === 'disconnect')));
    const run = forwarder(path, [{ op: 'open' }, { op: 'write', hex: V_BODY }, { op: 'read' }, { op: 'sleep', ms: 1500 }, { op: 'write', hex: V_BODY }, { op: 'read' }]);
    // Close while the forwarder holds the connection (after its first reply, during its sleep).
    await transactionsReach(server, 1);
    await server.close();
    expect(await gone).toMatchObject({ kind: 'disconnect' });
    const results = await run;
    expect(results.slice(0, 3).map((r) => r.ok)).toEqual([true, true, true]);
    expect(results[2]?.hex).toBe(V_REPLY);
    expect(results.slice(4).some((r) => !r.ok)).toBe(true); // the pipe is gone: 109 ERROR_BROKEN_PIPE or 232/233
    // The name is free again: a new server on it serves the next forwarder.
    const again = await createKdrpcProxyPipeServer({ path, host: createKdrpcHost() });
    cleanups.push(() => again.close());
    expect((await forwarder(path, [{ op: 'call', hex: V_BODY }]))[0]).toMatchObject({ ok: true, hex: V_REPLY });
  });
});
