import type { EmulatedVmx } from './emulated-vmx.js';

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
