import type { BackdoorPort } from '../backdoor-port.js';

/** guestinfo variables, keyed without the `guestinfo.` prefix, lower case (VMware matches keys case-insensitively). */
export type GuestInfoStore = Map<string, string>;

/** What an RPC handler returns. A bare string or byte array is a success reply (the VMX adds `"1 "`). */
export type RpciHandlerResult = string | Uint8Array | { readonly ok: boolean; readonly reply?: string | Uint8Array };

export interface RpciHandlerContext {
  /** The command name the VMX dispatched on (the text before the first space). */
  readonly command: string;
  readonly channelId: number;
  readonly vmx: EmulatedVmx;
}

/**
 * An RPC handler of the emulated VMX: it gets the bytes after the command name and its space and
 * returns the reply. A handler that throws gets `"0 <message>"`.
 */
export type RpciHandler = (args: Uint8Array, context: RpciHandlerContext) => RpciHandlerResult | Promise<RpciHandlerResult>;

/** Faults the emulated VMX can inject (vmware-backdoor spec §9.2). */
export type VmxFault =
  /** A checkpoint happened: the call returns CPT only and the channel restarts its send or receive. */
  | 'checkpoint'
  /** The channel is closed under the guest: status CLOSED, channel freed. */
  | 'closed'
  /** The channel timed out: status TIMEOUT, channel freed. */
  | 'timeout';

export interface VmxStats {
  /** Every backdoor access (LB calls and HB transfers), magic or not. */
  calls: number;
  hbOut: number;
  hbIn: number;
  /** Messages dispatched to a handler. */
  rpcs: number;
  /** Accesses answered with a failure status or the non-magic answer. */
  refused: number;
  openChannels: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * An in-process VMware VMX as far as the backdoor and GuestRPC go (vmware-backdoor spec §9.2). It is
 * itself a `BackdoorPort`, so guest code calls it directly, and the ptrace harness forwards trapped
 * instructions to it.
 */
export interface EmulatedVmx extends BackdoorPort {
  /** Registers an RPC handler under a command name (`log`, `~kdVMvA`), or a prefix ending in `.*`. Returns an unregister function. */
  register(name: string, handler: RpciHandler): () => void;
  /** The guestinfo store behind `info-get`/`info-set` (keys without the `guestinfo.` prefix). */
  readonly guestInfo: GuestInfoStore;
  /** Lines the guest wrote with the `log` command (the last 1000). */
  logLines(): readonly string[];
  /** Queues a host-to-guest command for a TCLO channel; replies arrive in `tcloReplies()`. */
  sendTclo(command: string | Uint8Array): void;
  tcloReplies(): readonly Uint8Array[];
  /** Injects a fault into the n-th MESSAGE access from now (1 = the next one). */
  injectFault(fault: VmxFault, onAccess?: number): void;
  /** Switches the high-bandwidth path on or off (affects the next SENDSIZE/RECVSIZE). */
  setHighBandwidth(enabled: boolean): void;
  /** Shrinks or grows the channel table (open channels above the limit stay until closed). */
  setMaxChannels(max: number): void;
  /** Makes every access fail as on a machine without VMware (`ERR_VMX_NOT_VMWARE`). */
  setNotVmware(enabled: boolean): void;
  /** Closes a channel from the host side, as VMware does with idle channels. */
  closeChannel(id: number): boolean;
  openChannelIds(): number[];
  stats(): VmxStats;
}
