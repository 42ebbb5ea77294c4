import { fileURLToPath } from 'node:url';
import { KDRPC_COMMAND_NAME } from '@vmkd/kd-protocol';
import { createEmulatedVmx, createKdrpcHost, harnessUnavailableReason, runUnderHarnessUntilReady } from '@vmkd/vmware-backdoor';
import { closeAll, linkWireBytes, type OpenedGuest } from './opened.js';

/** Why the native-stub cell cannot run on this machine, or undefined when it can. */
export const nativeSkipReason = harnessUnavailableReason;

/** `node` arguments that run the child: its TypeScript source through tsx when we run from source. */
function childArgs(memorySize: number): string[] {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    return ['--import', 'tsx', '--conditions=@vmkd/source', fileURLToPath(new URL('./native-guest-child.ts', self)), String(memorySize)];
  }
  return [fileURLToPath(new URL('./native-guest-child.js', self)), String(memorySize)];
}

/**
 * The accelerated path with real machine code: the guest stack runs in a Node child under the
 * ptrace harness, its backdoor instructions trapped and answered by an emulated VMX here, whose
 * `~kdVMvA` handler is vmkd's KDRPC host. Costs a ptrace round trip (two context switches and
 * register transfers) per backdoor instruction, about 7 per RPC.
 */
export async function openKdrpcNativeGuest(options: { readonly memorySize: number; readonly startTimeoutMs?: number }): Promise<OpenedGuest> {
  const cleanups: (() => unknown)[] = [];
  try {
    const host = createKdrpcHost({ name: 'kdrpc+native', guestIdleTimeoutMs: 30_000 });
    cleanups.push(() => host.close());
    const vmx = createEmulatedVmx();
    cleanups.push(vmx.register(KDRPC_COMMAND_NAME, host.vmxHandler));
    const { run, match } = await runUnderHarnessUntilReady({
      command: process.execPath,
      args: childArgs(options.memorySize),
      vmx,
      timeoutMs: 24 * 3600_000,
      ready: /^ready .*$/m,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    });
    cleanups.push(async () => {
      run.kill();
      await run.exited.catch(() => undefined);
    });
    const [, base, size] = match[0].split(' ');
    return {
      link: host,
      dataBase: BigInt(`0x${base}`),
      dataSize: BigInt(`0x${size}`),
      childPid: run.pid,
      wireBytes: linkWireBytes(host),
      close: () => closeAll(cleanups),
    };
  } catch (error) {
    await closeAll(cleanups);
    throw error;
  }
}
