import { Subject } from 'rxjs';
import type { GuestSchemeProvider, OpenedLink } from '@vmkd/kd-protocol';
import { createKdrpcHost } from '../kdrpc/host.js';
import { createKdrpcProxyPipeServer } from './server.js';

/** VirtualKD's proxy-pipe protocol: a VMM-side forwarder hands us raw KDRPC bodies. */
export interface KdrpcProxyGuestSpec {
  readonly kind: 'kdrpc-proxy';
  readonly uri: string;
  /** A Unix socket path, or a Windows pipe path (`\\.\pipe\kdvmware_proxypipe`). */
  readonly address: { readonly kind: 'unix' | 'pipe'; readonly path: string };
}

async function openProxyGuest(spec: KdrpcProxyGuestSpec): Promise<OpenedLink> {
  const { address } = spec;
  const notices = new Subject<string>();
  const host = createKdrpcHost({ name: `kdrpc+proxy:${address.path}` });
  let server;
  try {
    server = await createKdrpcProxyPipeServer({
      path: address.path,
      host,
      onDropped: (event) =>
        notices.next(
          `kdrpc proxy: dropped a forwarder connection: a frame of ${event.length ?? '?'} bytes exceeds the ${event.limit}-byte limit (${event.brokenFrames} broken frame${event.brokenFrames === 1 ? '' : 's'} so far)`,
        ),
    });
  } catch (error) {
    await host.close();
    throw error;
  }
  const listening = server;
  return {
    link: host,
    description: `KDRPC proxy ${address.kind === 'pipe' ? 'pipe' : 'socket'} ${address.path}, waiting for the VMM-side forwarder`,
    address: spec.uri,
    notices$: notices.asObservable(),
    async close() {
      await listening.close();
      await host.close();
      notices.complete();
    },
  };
}

/** `kdrpc+proxypipe://./pipe/NAME`: VirtualKD's proxy pipe (Windows). */
export const kdrpcProxyPipeGuestScheme: GuestSchemeProvider<KdrpcProxyGuestSpec> = {
  scheme: 'kdrpc+proxypipe',
  summary: "VirtualKD's proxy-pipe protocol (accelerated KDRPC) on a named pipe",
  example: 'kdrpc+proxypipe://./pipe/kdvmware_proxypipe',
  platforms: ['win32'],
  parse(uri) {
    uri.keys([]);
    return { kind: 'kdrpc-proxy', uri: uri.text, address: { kind: 'pipe', path: uri.pipePath() } };
  },
  open: openProxyGuest,
};

/** `kdrpc+proxyunix:PATH`: the same protocol on a Unix socket (owner-only). */
export const kdrpcProxyUnixGuestScheme: GuestSchemeProvider<KdrpcProxyGuestSpec> = {
  scheme: 'kdrpc+proxyunix',
  summary: '… on a Unix socket',
  example: 'kdrpc+proxyunix:proxy.sock',
  platforms: ['linux', 'darwin', 'freebsd', 'openbsd', 'sunos', 'aix'],
  parse(uri) {
    uri.keys([]);
    return { kind: 'kdrpc-proxy', uri: uri.text, address: { kind: 'unix', path: uri.unixPath() } };
  },
  open: openProxyGuest,
};
