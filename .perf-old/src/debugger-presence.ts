import type { PacketLink } from '@vmkd/kd-protocol';

/**
 * An optional capability of a guest link: being told whether a debugger is attached. VirtualKD's
 * host tells the guest's kdvm.dll so, which sets the retry bit and KD_DEBUGGER_NOT_PRESENT
 * (virtualkd-kdrpc spec; issue 10 item 6). The route calls it on every debugger connect and
 * disconnect; a link without it is left alone. Structural, so no transport package is imported.
 */
export interface DebuggerPresenceAware {
  setDebuggerPresent(present: boolean): void;
}

export function isDebuggerPresenceAware(link: PacketLink): link is PacketLink & DebuggerPresenceAware {
  return typeof (link as Partial<DebuggerPresenceAware>).setDebuggerPresent === 'function';
}
