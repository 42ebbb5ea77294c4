import type { EndpointSchemeProvider, OpenedLink } from '@vmkd/kd-protocol';
import { map } from 'rxjs';
import { gdbConnectionHints } from './connection-hints.js';
import { createGdbEndpoint, type GdbEndpointNotice } from './gdb-endpoint.js';

/** Where RSP clients attach: `gdb://HOST:PORT`. */
export interface GdbEndpointSpec {
  readonly uri: string;
  readonly host: string;
  readonly port: number;
}

function describeNotice(notice: GdbEndpointNotice): string {
  switch (notice.kind) {
    case 'client':
      return `gdb endpoint: RSP client ${notice.peer} attached`;
    case 'client-gone':
      return `gdb endpoint: RSP client ${notice.peer} ${notice.how === 'detached' ? 'detached' : 'went away (the kernel is left stopped)'} after ${notice.counters.packets} packets`;
    case 'refused':
      return `gdb endpoint: refused ${notice.peer}: ${notice.attached} is attached (one client at a time)`;
  }
}

/**
 * `gdb://HOST:PORT`: the GDB remote endpoint (gdb, lldb, IDA, Ghidra); port 0 picks a free one;
 * loopback unless allowed. No `connect`: vmkd's KD debugger is not an RSP client.
 */
export const gdbEndpointScheme: EndpointSchemeProvider<GdbEndpointSpec> = {
  scheme: 'gdb',
  summary: 'a GDB remote-protocol server for gdb, lldb, IDA and Ghidra (port 0 picks a free one)',
  example: 'gdb://127.0.0.1:1234',
  parse(uri) {
    uri.keys([]);
    const { host, port } = uri.tcpAddress({ allowPortZero: true });
    return { uri: uri.text, host, port };
  },
  async open(spec, context): Promise<OpenedLink> {
    const endpoint = await createGdbEndpoint({ host: spec.host, port: spec.port, allowRemote: context.allowRemote });
    const hints = gdbConnectionHints(endpoint.host, endpoint.port);
    const where = endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
    return {
      link: endpoint.link,
      description: `GDB remote endpoint at gdb://${where} (RSP served by vmkd's KD debugger)`,
      address: `gdb://${where}`,
      debuggerCommands: [
        { debugger: 'gdb', command: hints.gdb },
        { debugger: 'lldb', command: hints.lldb },
        { debugger: 'ida', command: hints.ida },
        { debugger: 'ghidra', command: hints.ghidra },
      ],
      notices$: endpoint.notices$.pipe(map(describeNotice)),
      close: () => endpoint.close(),
    };
  },
};
