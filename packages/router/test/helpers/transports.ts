import { createKdcomLink, createMemoryPacketPair, type PacketLink } from '@vmkd/kd-protocol';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { listenUnix, type UnixSocketServer } from './socket-byte-link.js';

/** How the two hops of a test route are carried. */
export type Transport = 'memory' | 'kdcom+unix';

/** Why a transport cannot be made here (`kdcom+unix` needs Unix sockets), or undefined. */
export function transportMissing(transport: Transport): string | undefined {
  return transport === 'kdcom+unix' ? skipUnlessCapable('unix-sockets') : undefined;
}

/** Both ends of one hop: what the router holds, what the far party (target or debugger) holds. */
export interface Hop {
  /** The router's end. */
  readonly near: PacketLink;
  /** The far party's end. */
  readonly far: PacketLink;
  /** The far party vanishes abruptly (process killed, socket torn down). */
  kill(): Promise<void>;
}

/**
 * Makes hops on one transport: in-memory packet pairs, or KDCOM link adapters on both ends of a
 * real Unix socket (the same framing, ids, ACKs and RESETs that WinDbg and a VM's serial port use).
 */
export interface HopFactory {
  /** A guest hop: the router faces the target (`near` is target-facing). */
  guest(): Promise<Hop>;
  /** A debugger hop: the router faces a debugger (`near` is debugger-facing). */
  debugger(): Promise<Hop>;
  close(): Promise<void>;
}

export function hopFactory(transport: Transport, dir: string): HopFactory {
  const servers: UnixSocketServer[] = [];
  const links: PacketLink[] = [];
  let count = 0;

  const memoryHop = (routerRole: 'target-facing' | 'debugger-facing'): Hop => {
    const [targetFacing, debuggerFacing] = createMemoryPacketPair({ names: [`t${count}`, `d${count}`] });
    count += 1;
    const near = routerRole === 'target-facing' ? targetFacing : debuggerFacing;
    const far = routerRole === 'target-facing' ? debuggerFacing : targetFacing;
    links.push(near, far);
    return { near, far, kill: () => Promise.resolve(far === targetFacing ? targetFacing.disconnect() : debuggerFacing.disconnect()) };
  };

  const kdcomHop = async (routerRole: 'target-facing' | 'debugger-facing'): Promise<Hop> => {
    const server = await listenUnix(dir, `hop${count}.sock`);
    count += 1;
    servers.push(server);
    const [nearBytes, farBytes] = await Promise.all([server.accept(), server.connect()]);
    const farRole = routerRole === 'target-facing' ? 'debugger-facing' : 'target-facing';
    const near = createKdcomLink(nearBytes, { role: routerRole, name: `router-${routerRole}` });
    const far = createKdcomLink(farBytes, { role: farRole, name: `far-${farRole}` });
    links.push(near, far);
    // Killing = the far process's socket torn down without a goodbye.
    return { near, far, kill: () => farBytes.close() };
  };

  return {
    guest: () => (transport === 'memory' ? Promise.resolve(memoryHop('target-facing')) : kdcomHop('target-facing')),
    debugger: () => (transport === 'memory' ? Promise.resolve(memoryHop('debugger-facing')) : kdcomHop('debugger-facing')),
    async close() {
      await Promise.allSettled(links.map((l) => l.close()));
      await Promise.allSettled(servers.map((s) => s.close()));
    },
  };
}
