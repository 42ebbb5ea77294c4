import type { Observable } from 'rxjs';
import { map } from 'rxjs';
import type { PacketLink } from '@vmkd/kd-protocol';
import { createDebuggerEndpoint } from '@vmkd/dbgeng-pipe';
import type { LinkNotice } from '@vmkd/serial-fallback';
import type { EndpointSpec } from '../uri/transport-uri.js';
import { listenOptionsFor } from './byte-link-options.js';
import { holdEvents } from './hold-events.js';

export interface OpenedEndpoint {
  /** The debugger-facing link the router serves debuggers through. */
  readonly link: PacketLink;
  /** Where debuggers attach, as a URI (ephemeral ports resolved). */
  readonly address: string;
  readonly notices$?: Observable<string>;
  close(): Promise<void>;
}

export interface OpenEndpointOptions {
  readonly allowRemote?: boolean;
}

function noticeText(notice: LinkNotice): string {
  switch (notice.kind) {
    case 'refused':
      return `debugger ${notice.peer} refused: ${notice.reason}`;
    case 'replaced':
      return `debugger ${notice.by} takes over from ${notice.peer}`;
    case 'connect-failed':
      return `endpoint: ${notice.error.message}`;
  }
}

/** The KDCOM server debuggers attach to (@vmkd/dbgeng-pipe): debugger after debugger on one link. */
export async function openEndpoint(spec: EndpointSpec, options: OpenEndpointOptions = {}): Promise<OpenedEndpoint> {
  const endpoint = await createDebuggerEndpoint({ listen: listenOptionsFor(spec.address, { allowRemote: options.allowRemote === true }) });
  return { link: holdEvents(endpoint), address: endpoint.address, notices$: endpoint.notices$.pipe(map(noticeText)), close: () => endpoint.close() };
}
