import { createKdcomLink, createMemoryBytePair, createTargetSession } from '@vmkd/kd-protocol';
import { route, type Route } from '@vmkd/router';
import { createSimTarget, type SimTarget } from '@vmkd/sim-target';
import { createGdbEndpoint, type GdbEndpoint } from '../src/index.js';

export interface SimRoute {
  readonly sim: SimTarget;
  readonly endpoint: GdbEndpoint;
  readonly route: Route;
  close(): Promise<void>;
}

/**
 * The virtual kernel behind KDCOM on an in-memory line (kd-protocol's own pieces, no guest
 * transport package), routed to a gdb endpoint on a free loopback port: what the RSP wire tests
 * need. The endpoint over each real guest transport is tested in the CLI package, which wires them.
 */
export async function openSimRoute(): Promise<SimRoute> {
  const sim = createSimTarget({ cpus: 1, memorySize: 64 * 1024 * 1024, printIntervalMs: 0 });
  const [targetEnd, lineEnd] = createMemoryBytePair({ names: ['sim:target', 'sim:line'] });
  const targetLink = createKdcomLink(targetEnd, { role: 'debugger-facing' });
  const session = createTargetSession(targetLink, sim);
  const guest = createKdcomLink(lineEnd, { role: 'target-facing', name: 'sim+serial' });
  const endpoint = await createGdbEndpoint({ port: 0 });
  const r = route(guest, endpoint.link);
  return {
    sim,
    endpoint,
    route: r,
    async close() {
      await endpoint.close();
      await r.close();
      await session.close();
      await targetLink.close();
      sim.close();
    },
  };
}
