import { KDRPC_COMMAND_NAME } from '@vmkd/kd-protocol';
import type { BackdoorPort } from '../backdoor-port.js';
import { createRpci, type Rpci, type RpciOptions } from '../guestrpc/rpci.js';
import { createEmulatedVmx, type EmulatedVmx } from '../vmx/emulated-vmx.js';
import { createKdrpcGuestLink, kdrpcCallOverRpci, type KdrpcGuestLink, type KdrpcGuestLinkOptions } from './guest.js';
import type { KdrpcHost } from './host.js';

export interface KdrpcGuestStackOptions {
  /** The backdoor to call: a native port, or any other BackdoorPort. Default: `vmx`. */
  readonly port?: BackdoorPort;
  /** The emulated VMX to use when no port is given. Default: a new one. */
  readonly vmx?: EmulatedVmx;
  /** A KDRPC host to register on the VMX under `~kdVMvA` (only when the stack owns or was given a VMX). */
  readonly host?: KdrpcHost;
  readonly rpci?: RpciOptions;
  readonly link?: KdrpcGuestLinkOptions;
}

export interface KdrpcGuestStack {
  /** The debugger-facing link a TargetSession talks through. */
  readonly link: KdrpcGuestLink;
  readonly rpci: Rpci;
  readonly port: BackdoorPort;
  /** The emulated VMX, when the stack uses one. */
  readonly vmx: EmulatedVmx | undefined;
  /** Closes the link, the RPCI client, and unregisters the host. */
  close(): Promise<void>;
}

/**
 * port → RPCI → KDRPC guest link: the guest half of `sim://?via=kdrpc`. With `host`, the VMX
 * answers `~kdVMvA` through it, so the whole accelerated path runs in-process:
 * `TargetSession → link → GuestRPC → VMX → host (target-facing PacketLink) → router`.
 */
export function createKdrpcGuestStack(options: KdrpcGuestStackOptions = {}): KdrpcGuestStack {
  const vmx = options.port === undefined ? (options.vmx ?? createEmulatedVmx()) : options.vmx;
  const port: BackdoorPort = options.port ?? vmx!;
  const unregister = options.host !== undefined && vmx !== undefined ? vmx.register(KDRPC_COMMAND_NAME, options.host.vmxHandler) : undefined;
  const rpci = createRpci(port, options.rpci);
  const link = createKdrpcGuestLink(kdrpcCallOverRpci(rpci), options.link);
  return {
    link,
    rpci,
    port,
    vmx,
    async close() {
      await link.close();
      await rpci.close();
      unregister?.();
    },
  };
}
