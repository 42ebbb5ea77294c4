import { createKdcomLink, createMemoryBytePair, createTargetSession, type PacketLink } from '@vmkd/kd-protocol';
import { route, type Route } from '@vmkd/router';
import { createSimTarget, type SimTarget } from '@vmkd/sim-target';
import { createKdrpcGuestStack, createKdrpcHost } from '@vmkd/vmware-backdoor';
import { createGdbEndpoint, type GdbEndpoint, type GdbEndpointOptions } from '../src/index.js';

export type GuestVia = 'serial' | 'kdrpc';

export interface SimRoute {
  readonly sim: SimTarget;
  readonly endpoint: GdbEndpoint;
  readonly route: Route;
  close(): Promise<void>;
}

/**
 * The virtual kernel behind a real guest transport (KDCOM over an unpaced in-memory serial line,
 * or KDRPC through GuestRPC and the emulated VMX), routed to a gdb endpoint on a free loopback port.
 */
export async function openSimRoute(via: GuestVia, options: { cpus?: number; memorySize?: number; endpoint?: GdbEndpointOptions } = {}): Promise<SimRoute> {
  const sim = createSimTarget({ cpus: options.cpus ?? 1, memorySize: options.memorySize ?? 64 * 1024 * 1024, printIntervalMs: 0 });
  let guest: PacketLink;
  let closeGuest: () => Promise<void>;
  if (via === 'serial') {
    const [targetEnd, lineEnd] = createMemoryBytePair({ names: ['sim:target', 'sim:line'] });
    const targetLink = createKdcomLink(targetEnd, { role: 'debugger-facing' });
    const session = createTargetSession(targetLink, sim);
    guest = createKdcomLink(lineEnd, { role: 'target-facing', name: 'sim+serial' });
    closeGuest = async () => {
      await session.close();
      await targetLink.close();
    };
  } else {
    const host = createKdrpcHost({ name: 'kdrpc+sim' });
    const stack = createKdrpcGuestStack({ host });
    const session = createTargetSession(stack.link, sim);
    guest = host;
    closeGuest = async () => {
      await session.close();
      await stack.close();
    };
  }
  const endpoint = await createGdbEndpoint({ port: 0, ...options.endpoint });
  const r = route(guest, endpoint.link);
  return {
    sim,
    endpoint,
    route: r,
    async close() {
      await endpoint.close();
      await r.close();
      await closeGuest();
      sim.close();
    },
  };
}
