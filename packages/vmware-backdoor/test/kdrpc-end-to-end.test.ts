import { afterEach, describe, expect, it } from 'vitest';
import { createDebuggerSession, createTargetSession, NtStatus, type DebuggerSession } from '@vmkd/kd-protocol';
import { createSimTarget, type SimTarget } from '@vmkd/sim-target';
import { createEmulatedVmx, createKdrpcGuestStack, createKdrpcHost, type KdrpcGuestStack, type KdrpcHost } from '../src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** DebuggerSession → KDRPC host link ⇄ emulated VMX ⇄ GuestRPC ⇄ KDRPC guest link → TargetSession + sim target. */
function accelerated(options: { lowBandwidthOnly?: boolean } = {}): { session: DebuggerSession; sim: SimTarget; host: KdrpcHost; stack: KdrpcGuestStack } {
  const sim = createSimTarget({ memorySize: 64 * 1024 * 1024, printIntervalMs: 0 });
  const host = createKdrpcHost();
  const vmx = createEmulatedVmx();
  const stack = createKdrpcGuestStack({ vmx, host, rpci: { lowBandwidthOnly: options.lowBandwidthOnly } });
  const target = createTargetSession(stack.link, sim);
  const session = createDebuggerSession(host, { timeoutMs: 5000 });
  cleanups.push(
    () => session.close(),
    () => host.close(),
    () => target.close(),
    () => stack.close(),
    () => sim.close(),
  );
  return { session, sim, host, stack };
}

describe('the accelerated path end to end (in-process)', () => {
  it('attaches, reads and verifies 16 MiB of physical memory', async () => {
    const { session, sim, host, stack } = accelerated();
    const stop = await session.attach();
    expect(stop.kind).toBe('exception');
    const version = await session.getVersion();
    expect(version.kernBase).toBe(sim.layout.kernBase);

    const size = 16 * 1024 * 1024;
    const got = await session.readPhysical(0n, size);
    expect(got.bytesRead).toBe(size);
    const expected = sim.readPhysical(0n, size);
    expect(Buffer.compare(Buffer.from(got.data), Buffer.from(expected))).toBe(0);

    expect(host.status()).toMatchObject({ connected: true, versionAccepted: true, testsPassed: 3, rejected: 0 });
    expect(stack.link.status().connected).toBe(true);
    expect(host.stats().packetsIn).toBeGreaterThan(4000);
    // Channels are opened per call: at most the guest's current receive is open.
    expect(stack.vmx!.openChannelIds().length).toBeLessThanOrEqual(1);
  });

  it('hits a breakpoint and breaks in while the target runs', async () => {
    const { session, sim, host } = accelerated();
    await session.attach();
    const address = sim.layout.idleLoopStart + 8n;
    const handle = await session.writeBreakpoint(address);
    await session.continue();
    const hit = await session.waitForStateChange(5000);
    expect(hit).toMatchObject({ kind: 'exception', exceptionCode: NtStatus.Breakpoint, programCounter: address });
    await session.restoreBreakpoint(handle);

    await session.continue();
    // Let the guest go back to break-in polling, then break in.
    await new Promise((r) => setTimeout(r, 30));
    expect(sim.running).toBe(true);
    const stopped = await session.breakIn({ timeoutMs: 5000 });
    expect(stopped.kind).toBe('exception');
    expect(sim.running).toBe(false);
    expect(host.status().polls).toBeGreaterThan(0);
    expect(host.stats().breakins).toBe(1);
  });

  it('works over the low-bandwidth GuestRPC path too', async () => {
    const { session, sim } = accelerated({ lowBandwidthOnly: true });
    await session.attach();
    const got = await session.readPhysical(0x100000n, 64 * 1024);
    expect(got.bytesRead).toBe(64 * 1024);
    expect(got.data).toEqual(sim.readPhysical(0x100000n, 64 * 1024));
  });
});
