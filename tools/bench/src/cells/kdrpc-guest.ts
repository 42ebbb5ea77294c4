import { createTargetSession } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import { createEmulatedVmx, createKdrpcGuestStack, createKdrpcHost } from '@vmkd/vmware-backdoor';
import { closeAll, linkWireBytes, type OpenedGuest } from './opened.js';

/**
 * The accelerated path, in-process: the virtual kernel's TargetSession on a KDRPC guest link (the
 * kdvm.dll role), GuestRPC over the emulated VMX, VirtualKD's `~kdVMvA` handler answered by vmkd's
 * KDRPC host, whose target-facing link is what the debugger sees. Every RPC is real protocol bytes;
 * only the VM exit itself costs nothing here (see docs/benchmarking.md for the model of that cost).
 */
export function openKdrpcVmxGuest(options: { readonly memorySize: number }): Promise<OpenedGuest> {
  const cleanups: (() => unknown)[] = [];
  try {
    const sim = createSimTarget({ memorySize: options.memorySize, printIntervalMs: 0 });
    cleanups.push(() => sim.close());
    const host = createKdrpcHost({ name: 'kdrpc+vmx' });
    cleanups.push(() => host.close());
    const vmx = createEmulatedVmx();
    const stack = createKdrpcGuestStack({ vmx, host });
    cleanups.push(() => stack.close());
    const target = createTargetSession(stack.link, sim);
    cleanups.push(() => target.close());
    return Promise.resolve({
      link: host,
      dataBase: sim.layout.dataRegion.virtualBase,
      dataSize: sim.layout.dataRegion.size,
      wireBytes: linkWireBytes(host),
      close: () => closeAll(cleanups),
    });
  } catch (error) {
    return closeAll(cleanups).then(() => Promise.reject(error as Error));
  }
}
