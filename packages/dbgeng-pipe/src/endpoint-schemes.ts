import { Observable, filter, map } from 'rxjs';
import { createKdcomLink, type EndpointSchemeProvider, type OpenedLink } from '@vmkd/kd-protocol';
import { connectOptionsFor, describeLinkNotice, listenOptionsFor, openByteLink, socketAddressOf, type SocketAddress } from '@vmkd/byte-links';
import { createDebuggerEndpoint } from './debugger-endpoint.js';

/** Where debuggers attach to a KDCOM endpoint. */
export interface KdcomEndpointSpec {
  readonly uri: string;
  readonly address: SocketAddress;
}

function kdcomEndpoint(kind: SocketAddress['kind'], summary: string, example: string, platforms?: readonly string[]): EndpointSchemeProvider<KdcomEndpointSpec> {
  return {
    scheme: kind,
    summary,
    example,
    ...(platforms === undefined ? {} : { platforms }),
    parse(uri) {
      uri.keys([]);
      return { uri: uri.text, address: socketAddressOf(uri, kind, true) };
    },
    async open(spec, context): Promise<OpenedLink> {
      const endpoint = await createDebuggerEndpoint({ listen: listenOptionsFor(spec.address, { allowRemote: context.allowRemote }) });
      return {
        link: endpoint,
        description: `KDCOM endpoint at ${endpoint.address}`,
        address: endpoint.address,
        debuggerCommands: endpoint.debuggerCommands,
        // A refusal is the router's to report: it knows who holds the endpoint and since when.
        notices$: endpoint.notices$.pipe(
          filter((notice) => notice.kind !== 'refused'),
          map((notice) => describeLinkNotice(notice, 'debugger')),
        ),
        refused$: endpoint.notices$.pipe(
          filter((notice) => notice.kind === 'refused'),
          map((notice) => ({ peer: notice.peer })),
        ),
        close: () => endpoint.close(),
      };
    },
    async connect(spec): Promise<OpenedLink> {
      // vmkd's own debugger: KDCOM as the debugger (target-facing) over one client connection.
      const bytes = await openByteLink(connectOptionsFor(spec.address));
      const link = createKdcomLink(bytes, { role: 'target-facing' });
      return {
        link,
        description: `KDCOM client of ${bytes.name}`,
        address: bytes.name,
        notices$: new Observable<string>((subscriber) => subscriber.complete()),
        async close() {
          await link.close();
          await bytes.close();
        },
      };
    },
  };
}

/** `pipe://./pipe/NAME`: WinDbg/kd on Windows (`-k com:pipe,…`). */
export const pipeEndpointScheme = kdcomEndpoint('pipe', 'a KDCOM server on a Windows named pipe', 'pipe://./pipe/kd_win10', ['win32']);
/** `tcp://HOST:PORT`: WinDbg `-k com:ipport=…`; port 0 picks a free one; loopback unless allowed. */
export const tcpEndpointScheme = kdcomEndpoint('tcp', 'a KDCOM server on TCP (port 0 picks a free one)', 'tcp://127.0.0.1:9999');
/** `unix:PATH`: radare2's winkd client; created 0600. */
export const unixEndpointScheme = kdcomEndpoint('unix', 'a KDCOM server on a Unix socket, owner-only', 'unix:kd.sock', [
  'linux',
  'darwin',
  'freebsd',
  'openbsd',
  'sunos',
  'aix',
]);
