import { VmkdError, createTargetSession, KDRPC_COMMAND_NAME, type TargetBackend } from '@vmkd/kd-protocol';
import { createEmulatedVmx, createKdrpcGuestStack, createKdrpcHost, createKdrpcProxyPipeServer, runUnderHarnessUntilReady } from '@vmkd/vmware-backdoor';
import { CliErrorCode } from '../errors.js';
import { childNodeArgs, probePath } from '../probes/run-probe.js';
import { createSimBackend, describeSim } from '../sim/sim-backend.js';
import type { SimOptions, SocketAddress } from '../uri/transport-uri.js';
import { holdEvents } from './hold-events.js';
import type { OpenedGuest } from './opened-guest.js';

/**
 * `sim://?via=kdrpc`: the whole accelerated path in this process. The virtual kernel's
 * TargetSession → KDRPC guest link (the kdvm.dll role) → GuestRPC → emulated VMX → `~kdVMvA` →
 * vmkd's KDRPC host, whose target-facing side the router uses.
 */
export function openSimKdrpcGuest(sim: SimOptions, given?: TargetBackend): OpenedGuest {
  const host = createKdrpcHost({ name: 'kdrpc+sim' });
  const link = holdEvents(host);
  const stack = createKdrpcGuestStack({ host });
  const owned = given === undefined ? createSimBackend(sim) : undefined;
  const backend = given ?? owned!;
  const session = createTargetSession(stack.link, backend);
  return {
    link,
    description: `${describeSim(sim)} on the accelerated path (KDRPC over GuestRPC, in-process emulated VMX)`,
    async close() {
      await host.close();
      await session.close();
      await stack.close();
      owned?.close();
    },
  };
}

/**
 * `sim://?via=kdrpc&backdoor=native`: as above, but the guest half runs in a child process whose
 * backdoor calls are real `IN`/`REP OUTSB`/`REP INSB` instructions, trapped by the ptrace harness
 * and answered by the emulated VMX here. Linux x86-64 only.
 */
export async function openSimKdrpcNativeGuest(sim: SimOptions, startTimeoutMs = 30_000): Promise<OpenedGuest> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new VmkdError(CliErrorCode.UnsupportedPlatform, `backdoor=native runs the guest under a ptrace harness: Linux x86-64 only (this is ${process.platform}/${process.arch})`);
  }
  const host = createKdrpcHost({ name: 'kdrpc+native', guestIdleTimeoutMs: 30_000 });
  const link = holdEvents(host);
  const vmx = createEmulatedVmx();
  const unregister = vmx.register(KDRPC_COMMAND_NAME, host.vmxHandler);
  try {
    const { run, match } = await runUnderHarnessUntilReady({
      command: process.execPath,
      args: [...childNodeArgs(), probePath('../sim/native-kdrpc-child'), sim.build, String(sim.memory), String(sim.cpus)],
      vmx,
      timeoutMs: 7 * 24 * 3600_000,
      ready: /^ready (\S+)$/m,
      startTimeoutMs,
    });
    return {
      link,
      description: `${describeSim(sim)} on the accelerated path, guest in process ${run.pid} calling the backdoor with native ${match[1]} stubs under the ptrace harness`,
      async close() {
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

/** `kdrpc+proxypipe://…` / `kdrpc+proxyunix:…`: serve VirtualKD's proxy-pipe protocol for a VMM-side forwarder. */
export async function openKdrpcProxyGuest(address: SocketAddress): Promise<OpenedGuest> {
  if (address.kind === 'tcp') throw new VmkdError(CliErrorCode.BadUri, 'the KDRPC proxy protocol runs on a named pipe or a Unix socket');
  const host = createKdrpcHost({ name: `kdrpc+proxy:${address.path}` });
  const link = holdEvents(host);
  const server = await createKdrpcProxyPipeServer({ path: address.path, host });
  return {
    link,
    description: `KDRPC proxy ${address.kind === 'pipe' ? 'pipe' : 'socket'} ${address.path}, waiting for the VMM-side forwarder`,
    async close() {
      await server.close();
      await host.close();
    },
  };
}
