import { openGuest } from '@vmkd/connect';
import { createGdbEndpoint, type GdbEndpoint, type GdbEndpointOptions } from '@vmkd/gdb-remote';
import { route, type Route } from '@vmkd/router';
import { createSimTarget, type SimTarget } from '@vmkd/sim-target';

export type GuestVia = 'serial' | 'kdrpc' | 'serial-115200';

export interface SimRoute {
  readonly sim: SimTarget;
  readonly endpoint: GdbEndpoint;
  readonly route: Route;
  close(): Promise<void>;
}

/**
 * The guest URIs: KDCOM over an unpaced in-memory serial line, KDRPC through GuestRPC and the
 * emulated VMX, or KDCOM over a line paced like a real COM port (115,200 baud: 11.5 KB/s).
 */
const GUEST_URI: Record<GuestVia, string> = { serial: 'sim://?via=serial&baud=0', kdrpc: 'sim://?via=kdrpc', 'serial-115200': 'sim://?via=serial&baud=115200' };

/**
 * The virtual kernel behind a real guest transport, opened through connect's registry as `vmkd
 * route` opens it, and routed to a gdb endpoint on a free loopback port. The kernel is created
 * here and lent to the guest, so tests can look at it directly.
 */
export async function openSimRoute(via: GuestVia, options: { cpus?: number; memorySize?: number; endpoint?: GdbEndpointOptions } = {}): Promise<SimRoute> {
  const sim = createSimTarget({ cpus: options.cpus ?? 1, memorySize: options.memorySize ?? 64 * 1024 * 1024, printIntervalMs: 0 });
  const guest = await openGuest(GUEST_URI[via], { simTarget: { backend: sim, dataRegion: sim.layout.dataRegion } });
  const endpoint = await createGdbEndpoint({ port: 0, ...options.endpoint });
  const r = route(guest.link, endpoint.link);
  return {
    sim,
    endpoint,
    route: r,
    async close() {
      await endpoint.close();
      await r.close();
      await guest.close();
      sim.close();
    },
  };
}
