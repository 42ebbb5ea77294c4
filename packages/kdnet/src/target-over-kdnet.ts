import { randomBytes } from 'node:crypto';
import { createTargetSession, type TargetBackend, type TargetSession, type TargetSessionOptions } from '@vmkd/kd-protocol';
import { randomKdnetKeyText } from './key.js';
import { createKdnetEndpointLink, createKdnetGuestLink, type DatagramTap, type KdnetLink } from './kdnet-link.js';

export interface TargetOverKdnetOptions {
  /** Default: a fresh random key for this pair. */
  readonly key?: string;
  /** Loopback address family: '127.0.0.1' (default) or '::1'. */
  readonly host?: string;
  /** The target's poke interval; default 3000 ms as Windows. */
  readonly pokeIntervalMs?: number;
  /** Passed to the TargetSession (e.g. `maxReplyPayload: 1024`, what Windows sends over KDNET). */
  readonly session?: TargetSessionOptions;
  /** Sees every datagram of the guest link (e.g. a pcap recorder). */
  readonly tap?: DatagramTap;
}

export interface TargetOverKdnet {
  /** The guest transport (target-facing), for the router or a DebuggerSession. */
  readonly link: KdnetLink;
  /** The target's own KDNET end, where the TargetSession is served (debugger-facing). */
  readonly targetLink: KdnetLink;
  readonly session: TargetSession;
  readonly key: string;
  /** Closes the guest link, the session and the target's link (the backend stays with its owner). */
  close(): Promise<void>;
}

/**
 * `sim://?via=kdnet`: a target (any TargetBackend: the virtual kernel) behind vmkd's own KDNET
 * target role, talking real KDNET over real loopback UDP sockets to vmkd's KDNET guest
 * transport, exactly as a Windows `kdnet.dll` talks to the debugger host.
 */
export async function openTargetOverKdnet(backend: TargetBackend, options: TargetOverKdnetOptions = {}): Promise<TargetOverKdnet> {
  const key = options.key ?? randomKdnetKeyText((n) => new Uint8Array(randomBytes(n)));
  const host = options.host ?? '127.0.0.1';
  const link = await createKdnetGuestLink({ key, listen: { address: host, port: 0 }, name: 'sim+kdnet', ...(options.tap === undefined ? {} : { tap: options.tap }) });
  const targetLink = await createKdnetEndpointLink({
    key,
    debugger: link.local,
    name: 'sim+kdnet:target',
    ...(options.pokeIntervalMs === undefined ? {} : { pokeIntervalMs: options.pokeIntervalMs }),
  });
  const session = createTargetSession(targetLink, backend, options.session);
  return {
    link,
    targetLink,
    session,
    key,
    async close() {
      await link.close();
      await session.close();
      await targetLink.close();
    },
  };
}
