import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { isVmkdError, type KdPacket, type LinkEvent } from '@vmkd/kd-protocol';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { createDebuggerEndpoint, debuggerCommandFor, type DebuggerEndpoint } from '../src/index.js';
import { R2_ATTACH, RESET, RESET_REPLY, RawDebugger, ackFor } from './raw-debugger.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-dbgeng-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
});

type Where = 'unix' | 'tcp';

async function endpointOn(where: Where, extra: Partial<Parameters<typeof createDebuggerEndpoint>[0]> = {}): Promise<DebuggerEndpoint> {
  const endpoint = await createDebuggerEndpoint({
    listen: where === 'unix' ? { kind: 'unix', path: join(dir, 'kd.sock') } : { kind: 'tcp', port: 0 },
    ...extra,
  });
  cleanup.push(() => endpoint.close());
  return endpoint;
}

function connectTo(endpoint: DebuggerEndpoint): Promise<RawDebugger> {
  const target = endpoint.address.startsWith('unix:')
    ? { path: endpoint.address.slice('unix:'.length) }
    : { host: '127.0.0.1', port: Number(new URL(endpoint.address).port) };
  return RawDebugger.connect(target).then((dbg) => {
    cleanup.push(() => dbg.close());
    return dbg;
  });
}

function recordEvents(endpoint: DebuggerEndpoint): LinkEvent[] {
  const events: LinkEvent[] = [];
  endpoint.events$.subscribe((event) => events.push(event));
  return events;
}

function nextEvent(endpoint: DebuggerEndpoint, kind: LinkEvent['kind']): Promise<LinkEvent> {
  return firstValueFrom(endpoint.events$.pipe(filter((event) => event.kind === kind), timeout(5_000)));
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const stateChange: KdPacket = { type: 7, payload: Buffer.alloc(240, 0x33) };

const noUnixSockets = skipUnlessCapable('unix-sockets');

for (const where of ['unix', 'tcp'] as const) {
  const skipReason = where === 'unix' ? noUnixSockets : undefined;
  describe.skipIf(skipReason !== undefined)(titleWithSkip(`debugger endpoint on ${where}`, skipReason), () => {
    it("answers radare2's first bytes (break-in + RESET) with the RESET reply it accepts", async () => {
      const endpoint = await endpointOn(where);
      const events = recordEvents(endpoint);
      const dbg = await connectTo(endpoint);
      dbg.write(R2_ATTACH);
      await until(() => dbg.raw.length >= 16);
      expect(dbg.raw.subarray(0, 16).toString('hex')).toBe(RESET_REPLY.toString('hex'));
      await until(() => events.some((e) => e.kind === 'reset'));
      expect(events.map((e) => e.kind)).toEqual(['connect', 'breakin', 'reset']);
      expect(endpoint.connected).toBe(true);
    });

    it('serves debugger after debugger: 20 connects, each with fresh link state; the target side sees no reset of its own', async () => {
      const endpoint = await endpointOn(where);
      const events = recordEvents(endpoint);
      for (let round = 1; round <= 20; round += 1) {
        const connected = nextEvent(endpoint, 'connect');
        const dbg = await connectTo(endpoint);
        await connected;
        // What the router does on connect: give the debugger the current state.
        const delivered = endpoint.send(stateChange);
        dbg.write(RESET);
        await dbg.nextFrame((f) => f.leader === 'control' && f.type === 6);
        // After the RESET exchange the state change comes with the post-RESET id, every time.
        const frame = await dbg.nextFrame((f) => f.leader === 'data' && f.type === 7 && f.id === 0x80800000);
        expect(frame.payload.equals(Buffer.from(stateChange.payload))).toBe(true);
        dbg.write(ackFor(frame.id));
        await delivered;
        const disconnected = nextEvent(endpoint, 'disconnect');
        await dbg.close();
        await disconnected;
        expect(endpoint.connected).toBe(false);
      }
      const kinds = events.map((e) => e.kind);
      expect(kinds.filter((k) => k === 'connect')).toHaveLength(20);
      expect(kinds.filter((k) => k === 'disconnect')).toHaveLength(20);
      expect(kinds.filter((k) => k === 'reset').length).toBeGreaterThanOrEqual(20);
      // Only link events reached the router: no packet, no break-in went toward the target.
      expect(kinds.filter((k) => k === 'packet' || k === 'breakin')).toHaveLength(0);
      expect(endpoint.connections).toBe(20);
      expect(endpoint.stats().packetsOut).toBe(20);
    });

    it('settles with a debugger that sends a burst of RESETs at connect, as WinDbg does on a pipe', async () => {
      const endpoint = await endpointOn(where);
      const dbg = await connectTo(endpoint);
      await until(() => endpoint.connected);
      const delivered = endpoint.send(stateChange);
      dbg.write(Buffer.concat([RESET, RESET, RESET, RESET, RESET]));
      const frame = await dbg.nextFrame((f) => f.leader === 'data' && f.type === 7 && f.id === 0x80800000);
      dbg.write(ackFor(frame.id));
      await delivered;
      // No resync bounce: a request sent now is answered by the link layer with an ACK of its id.
      const request = Buffer.alloc(16 + 56 + 1);
      request.write('0000', 0, 'latin1');
      request.writeUInt16LE(2, 4);
      request.writeUInt16LE(56, 6);
      request.writeUInt32LE(0x80800000, 8);
      request.fill(1, 16, 72);
      request.writeUInt32LE(56, 12);
      request[72] = 0xaa;
      const got = nextEvent(endpoint, 'packet');
      dbg.write(request);
      await dbg.nextFrame((f) => f.leader === 'control' && f.type === 4 && f.id === 0x80800000);
      expect(await got).toMatchObject({ kind: 'packet', packet: { type: 2 } });
    });

    it('refuses a second concurrent debugger with a notice and keeps the first', async () => {
      const endpoint = await endpointOn(where);
      const first = await connectTo(endpoint);
      await until(() => endpoint.connected);
      const refused = firstValueFrom(endpoint.notices$.pipe(timeout(5_000)));
      const second = await connectTo(endpoint);
      expect(await refused).toMatchObject({ kind: 'refused' });
      await second.closed; // the endpoint hung up on it
      first.write(RESET);
      await first.nextFrame((f) => f.leader === 'control' && f.type === 6);
      expect(endpoint.connections).toBe(1);
    });

    it('with whenBusy "replace", the newest debugger takes over', async () => {
      const endpoint = await endpointOn(where, { whenBusy: 'replace' });
      const events = recordEvents(endpoint);
      const first = await connectTo(endpoint);
      await until(() => endpoint.connected);
      const second = await connectTo(endpoint);
      await first.closed;
      second.write(RESET);
      await second.nextFrame((f) => f.leader === 'control' && f.type === 6);
      expect(events.map((e) => e.kind)).toEqual(['connect', 'disconnect', 'connect', 'reset']);
    });

    it('a packet for the debugger waits for one, within waitForDebuggerMs', async () => {
      const endpoint = await endpointOn(where, { waitForDebuggerMs: 100 });
      expect(isVmkdError(await endpoint.send(stateChange).catch((e: unknown) => e), 'ERR_LINK_TIMEOUT')).toBe(true);
    });
  });
}

describe('endpoint addresses and access', () => {
  it('creates the Unix socket owner-only (0600) and names the radare2 command', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const endpoint = await endpointOn('unix');
    const path = join(dir, 'kd.sock');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(endpoint.address).toBe(`unix:${path}`);
    expect(endpoint.debuggerCommand).toBe(`r2 -a x86 -b 64 -D winkd winkd://${path}`);
  });

  it('binds TCP to loopback and names the WinDbg com:ipport command', async () => {
    const endpoint = await endpointOn('tcp');
    const port = new URL(endpoint.address).port;
    expect(endpoint.address).toBe(`tcp://127.0.0.1:${port}`);
    expect(endpoint.debuggerCommand).toBe(`windbg -k com:ipport=${port},port=127.0.0.1`);
  });

  it('refuses a non-loopback TCP bind without allowRemote, and allows it with', async () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
      const error = await createDebuggerEndpoint({ listen: { kind: 'tcp', host, port: 0 } }).catch((e: unknown) => e);
      expect(isVmkdError(error, 'ERR_SERIAL_REMOTE_BIND_REFUSED')).toBe(true);
    }
    const open = await createDebuggerEndpoint({ listen: { kind: 'tcp', host: '0.0.0.0', port: 0, allowRemote: true } });
    cleanup.push(() => open.close());
    expect(open.debuggerCommand).toMatch(/^windbg -k com:ipport=\d+,port=127\.0\.0\.1$/);
  });

  it('names the WinDbg named-pipe command with resets=0 and reconnect', () => {
    expect(debuggerCommandFor('pipe://./pipe/kd_win10')).toBe('windbg -k com:pipe,port=\\\\.\\pipe\\kd_win10,resets=0,reconnect');
  });

  it('is a debugger-facing link: breakIn() and resync() are unsupported', async () => {
    const endpoint = await endpointOn('tcp');
    expect(endpoint.role).toBe('debugger-facing');
    expect(isVmkdError(await endpoint.breakIn().catch((e: unknown) => e), 'ERR_LINK_UNSUPPORTED')).toBe(true);
  });
});

describe.runIf(process.platform === 'win32')('debugger endpoint on a Windows named pipe', () => {
  it('answers RESET and serves debugger after debugger', async () => {
    const name = `vmkd-dbgeng-${process.pid}`;
    const endpoint = await createDebuggerEndpoint({ listen: { kind: 'pipe', path: name } });
    cleanup.push(() => endpoint.close());
    expect(endpoint.debuggerCommand).toBe(`windbg -k com:pipe,port=\\\\.\\pipe\\${name},resets=0,reconnect`);
    for (let round = 0; round < 3; round += 1) {
      const dbg = await RawDebugger.connect({ path: `\\\\.\\pipe\\${name}` });
      dbg.write(R2_ATTACH);
      await dbg.nextFrame((f) => f.leader === 'control' && f.type === 6);
      await dbg.close();
      await until(() => !endpoint.connected);
    }
    expect(endpoint.connections).toBe(3);
  });
});
