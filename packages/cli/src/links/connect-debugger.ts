import { createDebuggerSession, createKdcomLink, type DebuggerSession, type PacketLink } from '@vmkd/kd-protocol';
import { openByteLink } from '@vmkd/serial-fallback';
import { connectOptionsFor } from './byte-link-options.js';
import { parseEndpointUri } from '../uri/parse-transport-uri.js';

/** vmkd's own debugger attached to an endpoint: the session and the KDCOM link under it. */
export interface DebuggerConnection {
  readonly session: DebuggerSession;
  readonly link: PacketLink;
  /** Ends the session and closes the connection (a session alone leaves its link open). */
  close(): Promise<void>;
}

/** Connects vmkd's DebuggerSession (KDCOM, target-facing) to an endpoint URI. */
export async function connectDebugger(endpointUri: string, timeoutMs = 10_000): Promise<DebuggerConnection> {
  const { address } = parseEndpointUri(endpointUri);
  const byteLink = await openByteLink(connectOptionsFor(address));
  const link = createKdcomLink(byteLink, { role: 'target-facing' });
  const session = createDebuggerSession(link, { timeoutMs });
  return {
    session,
    link,
    async close() {
      await session.close();
      await link.close();
    },
  };
}
