import { map } from 'rxjs';
import type { ByteLink, KdcomLinkOptions } from '@vmkd/kd-protocol';
import {
  createPersistentKdcomLink,
  listenByteLinks,
  type BusyPolicy,
  type PersistentKdcomLink,
  type SocketListenOptions,
} from '@vmkd/byte-links';
import { debuggerCommandFor, debuggerCommandsFor, type DebuggerCommand } from './debugger-command.js';

export interface DebuggerEndpointOptions {
  /**
   * Where debuggers connect: `{ kind: 'pipe', path: 'kd_win10' }` (WinDbg/kd on Windows),
   * `{ kind: 'unix', path: 'kd.sock' }` (radare2 winkd; created 0600), or
   * `{ kind: 'tcp', port: 9999 }` (WinDbg `com:ipport`; loopback unless `allowRemote: true`).
   */
  listen: SocketListenOptions;
  /** Link name for logs and stats. Default: the address. */
  name?: string;
  /** What a second debugger gets while one is attached. Default `refuse`. */
  whenBusy?: BusyPolicy;
  /** How long a packet for the debugger waits while none is attached. Default 60 000 ms. */
  waitForDebuggerMs?: number;
  /** KDCOM options for each debugger connection (T_ack, retries). */
  kdcom?: Omit<KdcomLinkOptions, 'role' | 'name'>;
}

/**
 * The endpoint a KD debugger attaches to. It is a `debugger-facing` PacketLink that persists across
 * debugger connections: `connect` when a debugger attaches (its RESETs are answered by the KDCOM
 * link layer and surface as `reset`), `disconnect` when it goes, and the next debugger starts with
 * fresh KDCOM state. Nothing here ever resets or resumes the target.
 */
export interface DebuggerEndpoint extends PersistentKdcomLink {
  /** The address debuggers connect to (`pipe://./pipe/kd`, `unix:/abs/kd.sock`, `tcp://127.0.0.1:9999`). */
  readonly address: string;
  /** A command line that attaches a debugger here (the first of `debuggerCommands`). */
  readonly debuggerCommand: string;
  /** Every command line that attaches a debugger here, WinDbg first. */
  readonly debuggerCommands: readonly DebuggerCommand[];
}

const DEFAULT_WAIT_FOR_DEBUGGER_MS = 60_000;

/** Start listening for debuggers. Resolves once the pipe, socket or port is bound. */
export async function createDebuggerEndpoint(options: DebuggerEndpointOptions): Promise<DebuggerEndpoint> {
  const listener = await listenByteLinks(options.listen);
  let connections = 0;
  const link = createPersistentKdcomLink({
    name: options.name ?? listener.address,
    role: 'debugger-facing',
    byteLinks$: listener.connections$.pipe(map((byteLink) => numbered(byteLink, listener.address, ++connections))),
    whenBusy: options.whenBusy ?? 'refuse',
    waitForPeerMs: options.waitForDebuggerMs ?? DEFAULT_WAIT_FOR_DEBUGGER_MS,
    ...(options.kdcom === undefined ? {} : { kdcom: options.kdcom }),
    onClose: () => listener.close(),
  });
  return Object.assign(link, {
    address: listener.address,
    debuggerCommand: debuggerCommandFor(listener.address),
    debuggerCommands: debuggerCommandsFor(listener.address),
  });
}

/**
 * Every connection to a Unix socket or a named pipe has the listener's own name: number them
 * (`unix:/x/kd.sock #2`), so "#3 refused: #2 is attached" says who is who. A TCP peer is named by
 * its own address and port already.
 */
function numbered(byteLink: ByteLink, address: string, n: number): ByteLink {
  if (byteLink.name !== address) return byteLink;
  return {
    name: `${address} #${n}`,
    data$: byteLink.data$,
    write: (chunk) => byteLink.write(chunk),
    close: () => byteLink.close(),
    stats: () => byteLink.stats(),
  };
}
