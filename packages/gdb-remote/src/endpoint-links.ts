import { createMemoryPacketPair, type MemoryPacketLink } from '@vmkd/kd-protocol';

/**
 * The in-process packet pair between the router and the endpoint's own KD debugger:
 * `[targetFacing, debuggerFacing]`. The DebuggerSession holds the first; the router gets the
 * second as the endpoint's debugger-facing link. KD packets cross it whole, with no framing to
 * terminate: the RSP side is where this endpoint's wire protocol lives. Each end holds its events
 * until subscribed, so the router may subscribe after the listener is bound.
 */
export function createEndpointLinkPair(name: string): [MemoryPacketLink, MemoryPacketLink] {
  return createMemoryPacketPair({ names: [`${name} (KD debugger)`, name] });
}
