import { EMPTY } from 'rxjs';
import { createMemoryPacketPair, VmkdError, type EndpointSchemeProvider, type OpenedLink, type PacketLink } from '@vmkd/kd-protocol';
import { ConnectErrorCode } from './errors.js';

/** The debugger ends of the open in-process endpoints, by name. */
const debuggerEnds = new Map<string, PacketLink>();

export interface InprocEndpointSpec {
  readonly uri: string;
  readonly name: string;
}

/**
 * `inproc://NAME`: an endpoint in this process, a memory packet pair instead of a socket. Only a
 * debugger in the same process can attach (`connectDebugger('inproc://NAME')`), so it is not in
 * the default registry; the bench registers it to measure the router without a socket hop.
 */
export const inprocEndpointScheme: EndpointSchemeProvider<InprocEndpointSpec> = {
  scheme: 'inproc',
  summary: 'an endpoint in this process (a memory packet pair), for the bench and tests',
  example: 'inproc://bench',
  parse(uri) {
    uri.keys([]);
    const name = uri.url.hostname;
    if (name === '' || (uri.url.pathname !== '' && uri.url.pathname !== '/')) throw uri.bad('write inproc://NAME');
    return { uri: uri.text, name };
  },
  open(spec): Promise<OpenedLink> {
    if (debuggerEnds.has(spec.name)) {
      return Promise.reject(new VmkdError('ERR_SERIAL_ADDRESS_IN_USE', `${spec.uri}: already open`, { details: { reason: 'server-alive' } }));
    }
    const [debuggerEnd, endpointEnd] = createMemoryPacketPair({ names: [`${spec.uri}:debugger`, spec.uri] });
    debuggerEnds.set(spec.name, debuggerEnd);
    return Promise.resolve({
      link: endpointEnd,
      description: `in-process endpoint ${spec.uri}`,
      address: spec.uri,
      debuggerCommands: [{ debugger: 'vmkd', command: `connectDebugger('${spec.uri}')`, note: 'reachable from this process only' }],
      notices$: EMPTY,
      async close() {
        if (debuggerEnds.get(spec.name) === debuggerEnd) debuggerEnds.delete(spec.name);
        await endpointEnd.close();
        await debuggerEnd.close();
      },
    });
  },
  connect(spec): Promise<OpenedLink> {
    const link = debuggerEnds.get(spec.name);
    if (link === undefined) {
      return Promise.reject(new VmkdError(ConnectErrorCode.NoDebuggerClient, `${spec.uri}: no such in-process endpoint is open`, { details: { uri: spec.uri } }));
    }
    return Promise.resolve({
      link,
      description: `in-process debugger end of ${spec.uri}`,
      address: spec.uri,
      notices$: EMPTY,
      // The pair belongs to the endpoint; the endpoint's close() ends it.
      close: () => Promise.resolve(),
    });
  },
};
