import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKdcomLink, createMemoryPacketPair, type PacketLink } from '@vmkd/kd-protocol';
import { createDebuggerEndpoint } from '@vmkd/dbgeng-pipe';
import { route, type Route } from '@vmkd/router';
import { connectTcpByteLink, connectUnixByteLink } from '@vmkd/byte-links';
import type { EndpointKind } from '../result-types.js';
import { closeAll, type OpenedDebugger } from './opened.js';
import { portOf } from './serial-guest.js';

/** What has to be up before the debugger connects: the router and its endpoint. */
export interface PreparedSide {
  /** Connects vmkd's debugger (timed as part of attach). */
  connect(): Promise<OpenedDebugger>;
  readonly route: Route | undefined;
  close(): Promise<void>;
}

/**
 * Put the chosen endpoint in front of a guest's target-facing link. `direct` hands the guest link
 * itself to the debugger; the routed kinds run `route(guest, endpoint)` with the endpoint an
 * in-memory packet pair or the dbgeng-pipe KDCOM server on a Unix socket or loopback TCP.
 */
export async function prepareDebuggerSide(kind: EndpointKind, guest: PacketLink): Promise<PreparedSide> {
  if (kind === 'direct') {
    return {
      route: undefined,
      connect: () => Promise.resolve({ link: guest, close: () => Promise.resolve() }),
      close: () => Promise.resolve(),
    };
  }
  const cleanups: (() => unknown)[] = [];
  try {
    if (kind === 'routed-inproc') {
      const [targetFacing, debuggerFacing] = createMemoryPacketPair({ names: ['bench:debugger', 'bench:endpoint'] });
      const r = route(guest, debuggerFacing, { closeLinks: false });
      cleanups.push(() => debuggerFacing.close(), () => targetFacing.close(), () => r.close());
      return {
        route: r,
        connect: () => Promise.resolve({ link: targetFacing, close: () => targetFacing.close() }),
        close: () => closeAll(cleanups),
      };
    }
    let listen;
    if (kind === 'routed-unix') {
      const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-kd-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      listen = { kind: 'unix' as const, path: join(dir, 'kd.sock') };
    } else {
      listen = { kind: 'tcp' as const, port: 0 };
    }
    const endpoint = await createDebuggerEndpoint({ listen, name: `bench:${kind}` });
    cleanups.push(() => endpoint.close());
    const r = route(guest, endpoint, { closeLinks: false });
    cleanups.push(() => r.close());
    const address = endpoint.address;
    return {
      route: r,
      async connect() {
        const bytes =
          listen.kind === 'unix' ? await connectUnixByteLink({ path: listen.path }) : await connectTcpByteLink({ host: '127.0.0.1', port: portOf(address) });
        const link = createKdcomLink(bytes, { role: 'target-facing', name: `bench:debugger@${address}` });
        return {
          link,
          async close() {
            await link.close();
            await bytes.close();
          },
        };
      },
      close: () => closeAll(cleanups),
    };
  } catch (error) {
    await closeAll(cleanups);
    throw error;
  }
}
