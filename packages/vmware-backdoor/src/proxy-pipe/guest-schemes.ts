import { Subject } from 'rxjs';
import type { GuestSchemeProvider, OpenedLink } from '@vmkd/kd-protocol';
import { createKdrpcHost } from '../kdrpc/host.js';
import { createKdrpcProxyPipeServer } from './server.js';
import type { ProxyPipeDropped } from './server-types.js';

/** VirtualKD's proxy-pipe protocol: a VMM-side forwarder hands us raw KDRPC bodies. */
export interface KdrpcProxyGuestSpec {
  readonly kind: 'kdrpc-proxy';
  readonly uri: string;
  /** A Unix socket path, or a Windows pipe path (`\\.\pipe\kdvmware_proxypipe`). */
  readonly address: { readonly kind: 'unix' | 'pipe'; readonly path: string };
}

/** One notice line per thing the server threw away, with the running count. */
function describeDropped(event: ProxyPipeDropped): string {
  const count = `${event.brokenFrames} broken frame${event.brokenFrames === 1 ? '' : 's'} so far`;
  if (event.reason === 'io-error') return `kdrpc proxy: a pipe call failed (Win32 error ${event.win32Error ?? '?'}); listening again (${count})`;
  const what = event.reason === 'message-too-large' ? 'message' : 'frame';
  return `kdrpc proxy: dropped a forwarder connection: a ${what} of ${event.length ?? '?'} bytes exceeds the ${event.limit}-byte limit (${count})`;
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
      onDropped: (event) => notices.next(describeDropped(event)),
    });
  } catch (error) {
    await host.close();
    throw error;
  }
  const listening = server;
  return {
    link: host,
    description:
      address.kind === 'pipe'
        ? `KDRPC proxy pipe ${address.path} (message-mode, VirtualKD's wire), waiting for the VMM-side forwarder`
        : `KDRPC proxy socket ${address.path} (length-framed, a vmkd extension), waiting for the VMM-side forwarder`,
    address: spec.uri,
    notices$: notices.asObservable(),
    async close() {
      await listening.close();
      await host.close();
      notices.complete();
    },
  };
}

/**
 * `kdrpc+proxypipe://./pipe/NAME`: VirtualKD's proxy pipe (Windows), wire-compatible with its
 * forwarder: a message-mode named pipe, one raw KDRPC body per message (spec §6.3).
 */
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

/**
 * `kdrpc+proxyunix:PATH`: the same transactions on a Unix socket (owner-only), each message framed
 * with a u32 length: a vmkd extension (spec §6.3, non-Windows transports), not VirtualKD's wire.
 */
export const kdrpcProxyUnixGuestScheme: GuestSchemeProvider<KdrpcProxyGuestSpec> = {
  scheme: 'kdrpc+proxyunix',
  summary: '… length-framed on a Unix socket (a vmkd extension)',
  example: 'kdrpc+proxyunix:proxy.sock',
  platforms: ['linux', 'darwin', 'freebsd', 'openbsd', 'sunos', 'aix'],
  parse(uri) {
    uri.keys([]);
    return { kind: 'kdrpc-proxy', uri: uri.text, address: { kind: 'unix', path: uri.unixPath() } };
  },
  open: openProxyGuest,
};
