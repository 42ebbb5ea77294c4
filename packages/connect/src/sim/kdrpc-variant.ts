import { EMPTY, Observable } from 'rxjs';
import { VmkdError, createTargetSession, KDRPC_COMMAND_NAME, type OpenedLink, type SimSetup, type SimVariantProvider } from '@vmkd/kd-protocol';
import { createEmulatedVmx, createKdrpcGuestStack, createKdrpcHost, runUnderHarnessUntilReady } from '@vmkd/vmware-backdoor';
import { ConnectErrorCode } from '../errors.js';
import { childArgs } from '../child/ready-child.js';

export interface SimKdrpcSpec {
  /** Who executes the guest's backdoor calls: this process (emulated VMX) or native stubs in a child. */
  readonly backdoor: 'inprocess' | 'native';
}

/**
 * The whole accelerated path in this process: the virtual kernel's TargetSession → KDRPC guest
 * link (the kdvm.dll role) → GuestRPC → emulated VMX → `~kdVMvA` → vmkd's KDRPC host, whose
 * target-facing side is the guest link.
 */
function openInProcess(setup: SimSetup): OpenedLink {
  const host = createKdrpcHost({ name: 'kdrpc+sim' });
  const stack = createKdrpcGuestStack({ host });
  const target = setup.createTarget();
  const session = createTargetSession(stack.link, target.backend);
  return {
    link: host,
    description: `${setup.description} on the accelerated path (KDRPC over GuestRPC, in-process emulated VMX)`,
    notices$: EMPTY,
    wireBytes: () => {
      const s = host.stats();
      return s.bytesIn + s.bytesOut;
    },
    sim: { dataRegion: target.dataRegion, backend: target.backend },
    async close() {
      await host.close();
      await session.close();
      await stack.close();
      target.close();
    },
  };
}

/**
 * As above, but the guest half runs in a child process whose backdoor calls are real
 * `IN`/`REP OUTSB`/`REP INSB` instructions, trapped by the ptrace harness and answered by the
 * emulated VMX here. Linux x86-64 only.
 */
async function openNative(setup: SimSetup, startTimeoutMs = 30_000): Promise<OpenedLink> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new VmkdError(
      ConnectErrorCode.UnsupportedPlatform,
      `backdoor=native runs the guest under a ptrace harness: Linux x86-64 only (this is ${process.platform}/${process.arch})`,
    );
  }
  const host = createKdrpcHost({ name: 'kdrpc+native', guestIdleTimeoutMs: 30_000 });
  const vmx = createEmulatedVmx();
  const unregister = vmx.register(KDRPC_COMMAND_NAME, host.vmxHandler);
  try {
    const { run, match } = await runUnderHarnessUntilReady({
      command: process.execPath,
      args: childArgs(import.meta.url, 'native-kdrpc-child', [
        setup.build,
        String(setup.memory),
        String(setup.cpus),
        setup.printIntervalMs === undefined ? '-' : String(setup.printIntervalMs),
        setup.ramFile ?? '-',
      ]),
      vmx,
      timeoutMs: 7 * 24 * 3600_000,
      ready: /^ready (\S+) ([0-9a-f]+) ([0-9a-f]+)$/m,
      startTimeoutMs,
    });
    let closing = false;
    // The guest process ending on its own is worth a line: the host only notices the silence
    // after its idle timeout.
    const notices$ = new Observable<string>((subscriber) => {
      void run.exited.then(
        (exit) => {
          if (!closing) subscriber.next(`guest process ${run.pid} ended (${exit.signal ?? `exit code ${String(exit.code)}`}); the target is gone`);
          subscriber.complete();
        },
        (error: unknown) => {
          if (!closing) subscriber.next(`guest process ${run.pid}: the ptrace harness failed (${error instanceof Error ? error.message : String(error)})`);
          subscriber.complete();
        },
      );
    });
    return {
      link: host,
      description: `${setup.description} on the accelerated path, guest in process ${run.pid} calling the backdoor with native ${match[1]} stubs under the ptrace harness`,
      notices$,
      wireBytes: () => {
        const s = host.stats();
        return s.bytesIn + s.bytesOut;
      },
      sim: { dataRegion: { virtualBase: BigInt(`0x${match[2]}`), size: BigInt(`0x${match[3]}`) }, childPid: run.pid },
      async close() {
        closing = true;
        run.kill();
        await run.exited.catch(() => undefined);
        unregister();
        await host.close();
      },
    };
  } catch (error) {
    unregister();
    await host.close();
    throw error;
  }
}

/** `sim://?via=kdrpc[&backdoor=inprocess|native]`: the accelerated KDRPC/GuestRPC path. */
export const simKdrpcVariant: SimVariantProvider<SimKdrpcSpec> = {
  via: 'kdrpc',
  summary: 'behind the accelerated KDRPC/GuestRPC path',
  keys: ['backdoor'],
  parse: (uri) => ({ backdoor: uri.choice('backdoor', ['inprocess', 'native'] as const, 'inprocess') }),
  open: (spec, setup) => (spec.backdoor === 'native' ? openNative(setup) : Promise.resolve(openInProcess(setup))),
};
