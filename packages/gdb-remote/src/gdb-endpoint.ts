import { isLoopbackHost } from '@vmkd/byte-links';
import { createDebuggerSession, type DebuggerSession, type PacketLink } from '@vmkd/kd-protocol';
import { Subject, type Observable } from 'rxjs';
import { GdbRemoteErrorCode, gdbError } from './errors.js';
import { createEndpointLinkPair } from './endpoint-links.js';
import { GdbStub } from './gdb-stub.js';
import { KernelState } from './kernel/kernel-state.js';
import { RspConnection, type RspConnectionCounters } from './rsp/rsp-connection.js';
import { listenTcp, type ListenStreams, type StreamListener } from './tcp-listener.js';

export interface GdbEndpointOptions {
  /** Listen address (default 127.0.0.1). Anything but loopback needs `allowRemote`. */
  readonly host?: string;
  /** TCP port (default 1234; 0 picks a free one). */
  readonly port?: number;
  /** Accept a non-loopback listen address: anyone who can reach it controls the kernel. */
  readonly allowRemote?: boolean;
  /**
   * Largest RSP packet body accepted and advertised (default 0x1ed00 = 126,208 bytes, so one `m`
   * asks for 63,104 bytes: exactly sixteen full 3,944-byte KD reads). At least 0x1000. gdb and
   * lldb read memory in `m` packets of half this (hex doubles the bytes); every `m` is a round
   * trip to the client process, which on a loaded machine costs milliseconds, so fewer and larger
   * ones are what makes a bulk read fast (docs/endpoints.md, the gdb bench).
   */
  readonly packetSize?: number;
  /** KD request timeout of the endpoint's DebuggerSession (default 10,000 ms). */
  readonly timeoutMs?: number;
  /** The byte-level listener (default: node:net TCP). */
  readonly listen?: ListenStreams;
}

export type GdbEndpointNotice =
  | { readonly kind: 'client'; readonly peer: string }
  | { readonly kind: 'client-gone'; readonly peer: string; readonly how: 'detached' | 'gone'; readonly counters: RspConnectionCounters }
  | { readonly kind: 'refused'; readonly peer: string; readonly attached: string };

export interface GdbEndpoint {
  /** The debugger-facing PacketLink the router routes the guest to. */
  readonly link: PacketLink;
  /** The KD debugger the RSP clients drive (for inspection; the endpoint owns it). */
  readonly session: DebuggerSession;
  readonly host: string;
  readonly port: number;
  readonly notices$: Observable<GdbEndpointNotice>;
  close(): Promise<void>;
}

const DEFAULT_PACKET_SIZE = 0x1ed00;
const PACKAGE_VERSION = '0.0.0';

/**
 * Opens the GDB remote endpoint: a TCP listener for RSP clients (gdb, lldb, IDA, Ghidra), one at a
 * time, each served by a stub over one DebuggerSession. The session's target-facing link is one
 * end of an in-process packet pair; the other end, `link`, is what the router sees as a debugger.
 */
export async function createGdbEndpoint(options: GdbEndpointOptions = {}): Promise<GdbEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 1234;
  const packetSize = options.packetSize ?? DEFAULT_PACKET_SIZE;
  if (!isLoopbackHost(host) && options.allowRemote !== true) {
    throw gdbError(GdbRemoteErrorCode.RemoteNotAllowed, `gdb endpoint: ${host} is not a loopback address; pass allowRemote (--allow-remote) to listen there`, { host });
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw gdbError(GdbRemoteErrorCode.BadOption, `gdb endpoint: port ${port} is out of range`, { option: 'port', value: port });
  if (!Number.isInteger(packetSize) || packetSize < 0x1000 || packetSize > 0x100000) {
    throw gdbError(GdbRemoteErrorCode.BadOption, `gdb endpoint: packetSize ${packetSize} must be 4096 … 1048576`, { option: 'packetSize', value: packetSize });
  }
  const notices = new Subject<GdbEndpointNotice>();
  // The session comes after the bind, so the link is named with the port actually bound.
  const ready: { kernel?: KernelState } = {};
  let active: { peer: string } | undefined;
  const listener: StreamListener = await (options.listen ?? listenTcp)(
    host,
    port,
    (connection) => {
      const kernel = ready.kernel;
      if (kernel === undefined || active !== undefined) {
        if (active !== undefined) notices.next({ kind: 'refused', peer: connection.peer, attached: active.peer });
        connection.destroy();
        return;
      }
      const current = { peer: connection.peer };
      active = current;
      notices.next({ kind: 'client', peer: connection.peer });
      let rsp: RspConnection | undefined = undefined;
      const stub = new GdbStub(kernel, { packetSize, packageVersion: PACKAGE_VERSION, sendOutput: (packet) => rsp?.send(packet) });
      rsp = new RspConnection(connection.stream, stub, packetSize, (how) => {
        if (active === current) active = undefined;
        notices.next({ kind: 'client-gone', peer: connection.peer, how, counters: { ...rsp!.counters } });
      });
      connection.onData((chunk) => rsp.receive(chunk));
      connection.onClose(() => rsp.closed());
    },
    { allowRemote: options.allowRemote === true },
  );
  const where = listener.host.includes(':') ? `[${listener.host}]:${listener.port}` : `${listener.host}:${listener.port}`;
  const [targetFacing, debuggerFacing] = createEndpointLinkPair(`gdb://${where}`);
  const session = createDebuggerSession(targetFacing, { timeoutMs: options.timeoutMs ?? 10_000 });
  ready.kernel = new KernelState(session);
  let closing: Promise<void> | undefined;
  return {
    link: debuggerFacing,
    session,
    host: listener.host,
    port: listener.port,
    notices$: notices.asObservable(),
    close() {
      closing ??= (async () => {
        await listener.close();
        await session.close();
        await targetFacing.close();
        await debuggerFacing.close();
        notices.complete();
      })();
      return closing;
    },
  };
}
