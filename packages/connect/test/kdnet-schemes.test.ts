import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createDebuggerSession, isVmkdError, type OpenedLink } from '@vmkd/kd-protocol';
import { fillExpected } from '@vmkd/sim-target';
import { route } from '@vmkd/router';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { connectDebugger, openEndpoint, openGuest, parseEndpointUri, parseGuestUri } from '../src/index.js';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** A UDP port that was free a moment ago (the KDNET debugger must listen on a known port). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('KDNET through the scheme registry', () => {
  it('sim://?via=kdnet opens the virtual kernel behind KDNET on loopback UDP; a debugger reads verified memory', async () => {
    const guest = await openGuest('sim://?via=kdnet&key=5im.k3y.1.2');
    opened.push(guest);
    expect(guest.description).toMatch(/behind KDNET over loopback UDP/);
    const session = createDebuggerSession(guest.link, { timeoutMs: 10_000 });
    await session.attach({ timeoutMs: 10_000 });
    const base = guest.sim!.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 64 * 1024);
    expect(Buffer.from(read.data).equals(Buffer.from(fillExpected(base, new Uint8Array(64 * 1024))))).toBe(true);
    expect(guest.wireBytes!()).toBeGreaterThan(64 * 1024);
    await session.close();
  });

  it('a serial guest routed to kdnet:// : the endpoint prints WinDbg and radare2 lines, and vmkd’s KDNET debugger (connectDebugger) reads through it', async ({ skip }) => {
    // The endpoint pokes the debugger's port before the debugger listens there (an ICMP port unreachable).
    const missing = skipUnlessCapable('udp-after-unreachable');
    skip(missing !== undefined, missing);
    const port = await freeUdpPort();
    const uri = `kdnet://127.0.0.1:${port}?key=r0ute.1.2.3`;
    const guest = await openGuest('sim://?via=serial&baud=0');
    const endpoint = await openEndpoint(uri);
    const running = route(guest.link, endpoint.link);
    opened.push(guest, endpoint, { close: () => running.close() });
    const commands = endpoint.debuggerCommands ?? [];
    expect(commands.find((c) => c.debugger === 'windbg')?.command).toBe(`windbg -k net:port=${port},key=r0ute.1.2.3`);
    expect(commands.find((c) => c.debugger === 'radare2')?.command).toMatch(new RegExp(`winkd://127\\.0\\.0\\.1:${port}:r0ute\\.1\\.2\\.3$`));
    const dbg = await connectDebugger(uri, { timeoutMs: 10_000 });
    opened.push(dbg);
    await dbg.session.attach({ timeoutMs: 10_000 });
    const base = guest.sim!.dataRegion.virtualBase;
    const read = await dbg.session.readVirtual(base, 32 * 1024);
    expect(Buffer.from(read.data).equals(Buffer.from(fillExpected(base, new Uint8Array(32 * 1024))))).toBe(true);
  });

  it('a bad or missing key is a URI error naming the component; a remote guest listener needs allowRemote', async () => {
    const refused = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const bad = refused(() => parseGuestUri('kdnet://127.0.0.1:50000?key=1.x-y.1.1'));
    expect(isVmkdError(bad, 'ERR_CLI_BAD_URI') && /component 2 \(x\)/.test(bad.message)).toBe(true);
    expect(isVmkdError(refused(() => parseGuestUri('kdnet://127.0.0.1:50000')), 'ERR_CLI_BAD_URI')).toBe(true);
    expect(isVmkdError(refused(() => parseEndpointUri('kdnet://127.0.0.1:50000?key=1.2.3')), 'ERR_CLI_BAD_URI')).toBe(true);
    const remote: unknown = await openGuest('kdnet://0.0.0.0:0?key=1.2.3.4').then(
      (g: OpenedLink) => g.close(),
      (e: unknown) => e,
    );
    expect(isVmkdError(remote, 'ERR_KDNET_BAD_ADDRESS')).toBe(true);
  });
});
