import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDebugger, openEndpoint } from '@vmkd/connect';
import { createDebuggerSession, type DebuggerSession, type PacketLink } from '@vmkd/kd-protocol';
import { route, type Route } from '@vmkd/router';
import { benchRegistry } from './registry.js';

/**
 * What a cell asks of the debugger it measures: vmkd's DebuggerSession, or an RSP client through
 * the `gdb://` endpoint (cells/gdb-endpoint.ts) doing the same workloads in its own protocol.
 */
export interface BenchSession {
  attach(options?: { timeoutMs?: number }): Promise<unknown>;
  getVersion(): Promise<unknown>;
  readVirtual(address: bigint, length: number): Promise<unknown>;
  readVirtualInto(address: bigint, target: Uint8Array): Promise<{ readonly bytesRead: number; readonly status: number }>;
  continue(): Promise<unknown>;
  breakIn(options?: { timeoutMs?: number }): Promise<unknown>;
  close(): Promise<void>;
}

/** vmkd's debugger, attached: the session and what to close after it. */
export interface OpenedDebugger<S extends BenchSession = BenchSession> {
  readonly session: S;
  close(): Promise<void>;
}

/** What has to be up before the debugger connects: the router and its endpoint. */
export interface PreparedSide<S extends BenchSession = BenchSession> {
  /** Connects vmkd's debugger (timed as part of attach). */
  connect(timeoutMs: number): Promise<OpenedDebugger<S>>;
  readonly route: Route | undefined;
  close(): Promise<void>;
}

/** `{tmp}` in an endpoint URI: a private directory made for the cell and removed after it. */
const TMP = '{tmp}';
/** `{udp}` in an endpoint URI: a loopback UDP port free a moment ago (where vmkd's KDNET debugger listens). */
const UDP = '{udp}';

/** A loopback UDP port nobody had bound a moment ago. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

async function closeAll(cleanups: readonly (() => unknown)[]): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch {
      /* already gone */
    }
  }
}

/**
 * Put an endpoint in front of a guest's target-facing link. Without an endpoint URI the debugger
 * gets the guest link itself (direct); otherwise `route(guest, endpoint)` runs with the endpoint
 * the URI names (`inproc://…`, `unix:{tmp}/kd.sock`, `tcp://127.0.0.1:0`), and vmkd's debugger
 * connects to the address it reports, exactly as `connectDebugger` does for any user.
 */
export async function prepareDebuggerSide(endpointUri: string | undefined, guest: PacketLink): Promise<PreparedSide<DebuggerSession>> {
  if (endpointUri === undefined) {
    return {
      route: undefined,
      connect: (timeoutMs) => {
        const session = createDebuggerSession(guest, { timeoutMs });
        return Promise.resolve({ session, close: () => session.close() });
      },
      close: () => Promise.resolve(),
    };
  }
  const cleanups: (() => unknown)[] = [];
  try {
    let uri = endpointUri;
    if (uri.includes(TMP)) {
      const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-kd-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      uri = uri.replace(TMP, dir);
    }
    if (uri.includes(UDP)) uri = uri.replace(UDP, String(await freeUdpPort()));
    const endpoint = await openEndpoint(uri, { registry: benchRegistry });
    cleanups.push(() => endpoint.close());
    const r = route(guest, endpoint.link, { closeLinks: false });
    cleanups.push(() => r.close());
    const address = endpoint.address ?? uri;
    return {
      route: r,
      connect: (timeoutMs) => connectDebugger(address, { registry: benchRegistry, timeoutMs }),
      close: () => closeAll(cleanups),
    };
  } catch (error) {
    await closeAll(cleanups);
    throw error;
  }
}
