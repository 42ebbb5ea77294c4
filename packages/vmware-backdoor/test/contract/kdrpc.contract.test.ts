import { describePacketLinkContract } from '@vmkd/kd-protocol/testing';
import { createEmulatedVmx, createKdrpcGuestStack, createKdrpcHost } from '../../src/index.js';

/**
 * The KDRPC host (target-facing, what the router talks to) and the KDRPC guest link
 * (debugger-facing, what a guest kernel's TargetSession talks through), joined the way they are
 * in `sim://?via=kdrpc`: guest → GuestRPC → emulated VMX → host.
 */
describePacketLinkContract('KDRPC host and guest over GuestRPC and the emulated VMX', () => {
  const host = createKdrpcHost({ guestIdleTimeoutMs: 400, sendTimeoutMs: 2000 });
  const vmx = createEmulatedVmx();
  const stack = createKdrpcGuestStack({ vmx, host, link: { sendTimeoutMs: 2000 } });
  let unregistered = false;
  return {
    targetFacing: host,
    debuggerFacing: stack.link,
    vanish: async (side) => {
      if (side === 'targetFacing') {
        // The VMM side is gone: the guest's calls fail from now on.
        vmx.register('~kdVMvA', () => Promise.reject(new Error('VMM gone')));
        unregistered = true;
      } else {
        // The guest stops calling without a word (the VM froze or died).
        await stack.rpci.close();
        await stack.link.close();
      }
    },
    dispose: async () => {
      await stack.close();
      if (unregistered) vmx.register('~kdVMvA', () => Promise.reject(new Error('closed')));
    },
  };
});
