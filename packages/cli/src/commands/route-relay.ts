import type { Subscription } from 'rxjs';
import type { ByteLink } from '@vmkd/kd-protocol';
import { relayBytes, type ByteRelay } from '@vmkd/router';
import { createTraceWriter, openFileTraceSink, type TraceSink } from '../output/trace-writer.js';
import { debuggerCommandsFor, lineConnectOptions, lineListenOptions, pacingFor, parseEndpointUri, type ByteAddress, type ParsedUri, type SocketAddress } from '@vmkd/connect';
import { listenSerialLines, openSerialLine } from '@vmkd/serial-fallback';
import { usageError } from '../errors.js';
import { whenAborted } from '../output/cli-io.js';
import type { CommandContext } from '../output/command-context.js';

export interface RelayCommandOptions {
  readonly trace?: string;
  readonly allowRemote?: boolean;
}

interface Totals {
  sessions: number;
  guestToDebugger: number;
  debuggerToGuest: number;
}

/**
 * `vmkd route --relay`: a transparent byte relay for diagnosis. No link termination: the debugger
 * and the guest run KDCOM with each other as if wired directly, and the trace records every chunk
 * and every KDCOM frame seen in passing. One debugger at a time; the guest connection is opened
 * when a debugger arrives and closed when it leaves.
 */
export async function runRelay(ctx: CommandContext, guest: ParsedUri, endpointUri: string, options: RelayCommandOptions): Promise<number> {
  if (guest['kind'] !== 'serial-device' && !(guest['kind'] === 'serial' && guest['mode'] === 'connect')) {
    throw usageError('--relay needs a byte-stream guest that vmkd connects to: serial+tcp://, serial+unix:, serial+pipe:// or serial:');
  }
  const endpointAddress = parseEndpointUri(endpointUri)['address'] as SocketAddress | undefined;
  if (endpointAddress === undefined) throw usageError('--relay needs a byte-stream endpoint: tcp://, unix: or pipe://');
  const pace = guest['kind'] === 'serial' ? pacingFor(guest['pace'] as number) : undefined;
  const guestOptions = lineConnectOptions(guest['address'] as ByteAddress, pace);
  // One trace file for the whole run, opened before anything listens (a bad path fails here);
  // each debugger session's relay writes into it and leaves closing it to the end of the run.
  const traceFile: TraceSink | undefined = options.trace === undefined ? undefined : await openFileTraceSink(options.trace);
  const sessionTrace: TraceSink | undefined = traceFile === undefined ? undefined : { write: (chunk) => traceFile.write(chunk), close: () => Promise.resolve() };
  const listener = await listenSerialLines(lineListenOptions(endpointAddress, { allowRemote: options.allowRemote === true })).catch(async (error: unknown) => {
    await traceFile?.close().catch(() => undefined);
    throw error;
  });
  const address = listener.address;
  const commands = debuggerCommandsFor(address);
  ctx.resultLine({ guest: guest.uri, endpoint: address, relay: true, debuggerCommands: commands }, () => [address, ...commands.map((c) => c.command)].join('\n'));
  ctx.status(`vmkd route --relay: bytes between ${guest.uri} and debuggers at ${address}, unchanged (no KDCOM termination). Ctrl-C stops.`);

  const totals: Totals = { sessions: 0, guestToDebugger: 0, debuggerToGuest: 0 };
  let current: { relay: ByteRelay; subscription: Subscription } | undefined;
  const finish = (relay: ByteRelay): void => {
    const stats = relay.stats();
    totals.guestToDebugger += stats.directions['guest→debugger']?.bytes ?? 0;
    totals.debuggerToGuest += stats.directions['debugger→guest']?.bytes ?? 0;
  };
  const accept = async (debuggerLink: ByteLink): Promise<void> => {
    if (current !== undefined) {
      ctx.status(ctx.err.yellow(`[relay] refused ${debuggerLink.name}: a debugger is already attached`));
      await debuggerLink.close();
      return;
    }
    let guestLink: ByteLink;
    try {
      guestLink = await openSerialLine(guestOptions);
    } catch (error) {
      ctx.status(ctx.err.red(`[relay] guest not reachable: ${error instanceof Error ? error.message : String(error)}`));
      await debuggerLink.close();
      return;
    }
    totals.sessions++;
    const relay = relayBytes(guestLink, debuggerLink, {
      names: ['guest', 'debugger'],
      tap: 'frames',
      ...(sessionTrace === undefined ? {} : { trace: createTraceWriter(sessionTrace) }),
    });
    const subscription = relay.events$.subscribe((event) => {
      if (event.kind === 'relay-ended') {
        ctx.status(`[relay] ended${event.side === undefined ? '' : ` (${event.side} side)`}${event.error ? `: ${event.error.message}` : ''}`);
      }
    });
    current = { relay, subscription };
    ctx.status(ctx.err.green(`[relay] debugger ${debuggerLink.name} ⇄ guest ${guestLink.name}`));
    void relay.done.then(() => {
      finish(relay);
      subscription.unsubscribe();
      if (current?.relay === relay) current = undefined;
    });
  };
  const connections = listener.connections$.subscribe((link) => void accept(link));

  await whenAborted(ctx.io.shutdown);
  connections.unsubscribe();
  await listener.close();
  if (current !== undefined) {
    const { relay, subscription } = current;
    await relay.close();
    finish(relay);
    subscription.unsubscribe();
    current = undefined;
  }
  await traceFile?.close().catch(() => undefined);
  if (ctx.json) ctx.resultLine({ stats: totals }, () => '');
  else ctx.status(`relay stats: ${totals.sessions} debugger session(s); guest→debugger ${totals.guestToDebugger} bytes, debugger→guest ${totals.debuggerToGuest} bytes`);
  return 0;
}
