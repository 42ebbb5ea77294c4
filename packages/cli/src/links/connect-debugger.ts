import { createDebuggerSession, createKdcomLink, type DebuggerSession } from '@vmkd/kd-protocol';
import { openByteLink } from '@vmkd/serial-fallback';
import { connectOptionsFor } from './byte-link-options.js';
import { parseEndpointUri } from '../uri/parse-transport-uri.js';

/** vmkd's own debugger (DebuggerSession over KDCOM) connected to an endpoint URI. */
export async function connectDebugger(endpointUri: string, timeoutMs = 10_000): Promise<DebuggerSession> {
  const { address } = parseEndpointUri(endpointUri);
  const byteLink = await openByteLink(connectOptionsFor(address));
  return createDebuggerSession(createKdcomLink(byteLink, { role: 'target-facing' }), { timeoutMs });
}
