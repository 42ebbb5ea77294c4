import { createDebuggerSession, createKdcomLink, createTargetSession, decodeKdcomFrames, KdPacketType, NtStatus, type ByteLink, type WaitStateChange } from '@vmkd/kd-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { createSimTarget, fillExpected } from '../src/index.js';
import { connectUnix, socketByteLink, unixListener } from './support/socket-byte-link.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A byte link that also keeps what it wrote, decoded (the target's side of the wire). */
function tapped(link: ByteLink): { link: ByteLink; dataIds: () => { type: number; id: number }[] } {
  const written: Uint8Array[] = [];
  const write = link.write.bind(link);
  link.write = (bytes) => {
    written.push(bytes.slice());
    return write(bytes);
  };
  const dataIds = () => {
    const all = new Uint8Array(written.reduce((n, b) => n + b.length, 0));
    written.reduce((at, b) => (all.set(b, at), at + b.length), 0);
    return decodeKdcomFrames(all).flatMap((e) => (e.kind === 'data' ? [{ type: e.type, id: e.id }] : []));
  };
  return { link, dataIds };
}

const name = (s: WaitStateChange): string => (s.kind === 'loadSymbols' ? new TextDecoder().decode(s.data.subarray(0, s.data.indexOf(0))) : `exception 0x${s.kind === 'exception' ? s.exceptionCode.toString(16) : '?'}`);

const noUnixSockets = skipUnlessCapable('unix-sockets');

describe.skipIf(noUnixSockets !== undefined)(titleWithSkip('a debugger attached across a reboot of the virtual kernel (KDCOM on a Unix socket)', noUnixSockets), () => {
  it('sees the new kernel start with a fresh KD state (SYNC id, LoadSymbols for each module) and keeps working', { timeout: 60_000 }, async () => {
    const listener = await unixListener();
    cleanups.push(() => listener.dispose());
    const [client, server] = await Promise.all([connectUnix(listener.path), listener.accepted]);
    const wire = tapped(socketByteLink(server, 'target-socket'));
    const debuggerLink = createKdcomLink(socketByteLink(client, 'debugger-socket'), { role: 'target-facing' });
    const targetLink = createKdcomLink(wire.link, { role: 'debugger-facing' });
    const sim = createSimTarget({ printIntervalMs: 0 });
    const target = createTargetSession(targetLink, sim);
    const session = createDebuggerSession(debuggerLink, { timeoutMs: 20_000 });
    cleanups.push(async () => {
      await session.close();
      await target.close();
      await debuggerLink.close();
      await targetLink.close();
      sim.close();
    });

    await session.attach();
    const before = await session.getVersion();
    const idsBefore = wire.dataIds().length;
    expect(wire.dataIds()[idsBefore - 1].id & 0x800).toBe(0); // talking with ordinary ids

    await session.reboot();
    const seen: string[] = [];
    let first: WaitStateChange | undefined;
    while (seen.length < sim.modules.length + 1) {
      const stop = await session.waitForStateChange();
      first ??= stop;
      seen.push(name(stop));
      await session.continue();
    }
    // The new kernel's first packet: a LoadSymbols state change numbered from a fresh KD state
    // (INITIAL | SYNC, KD spec 1.5), as Windows sends after a boot.
    const after = wire.dataIds().slice(idsBefore);
    const firstStateChange = after.find((p) => p.type === KdPacketType.StateChange64);
    expect(firstStateChange?.id).toBe(0x80800800);
    expect(first?.kind).toBe('loadSymbols');
    expect(seen.slice(0, 3)).toEqual(sim.modules.slice(0, 3).map((m) => m.fullName));
    expect(seen[3]).toBe(`exception 0x${NtStatus.Breakpoint.toString(16)}`);
    expect(seen.slice(4)).toEqual(sim.modules.slice(3).map((m) => m.fullName));

    // The debugger goes on with the new kernel: break in, ask, read memory, verified.
    const stop = await session.breakIn();
    expect(stop.kind).toBe('exception');
    expect((await session.getVersion()).kernBase).toBe(before.kernBase);
    const at = sim.layout.dataRegion.virtualBase + 0x1234n;
    const read = await session.readVirtual(at, 64 * 1024);
    expect(read.data).toEqual(fillExpected(at, new Uint8Array(64 * 1024)));
    await session.continue();
    expect((await session.breakIn()).kind).toBe('exception');
  });
});
