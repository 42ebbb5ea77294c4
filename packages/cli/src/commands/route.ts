import { merge, type Subscription } from 'rxjs';
import { route } from '@vmkd/router';
import { createTraceWriter, openFileTraceSink, type TraceSink } from '../output/trace-writer.js';
import { whenAborted } from '../output/cli-io.js';
import type { CommandContext } from '../output/command-context.js';
import { openEndpoint, openGuest, parseEndpointUri, parseGuestUri } from '@vmkd/connect';
import { fastPathOf, formatFastPathStats } from '@vmkd/vmm-memory';
import { describeRouteEvent, formatRouteStats } from './route-status.js';
import { datagramRecord } from './trace-datagram.js';
import { radare2BuildAdvice, simGuestBuild, withRadare2Note } from './radare2-builds.js';

export interface RouteCommandOptions {
  readonly trace?: string;
  /** Add each packet's payload in hex to its trace record (`bytes`). */
  readonly traceBytes?: boolean;
  readonly relay?: boolean;
  readonly allowRemote?: boolean;
}

/**
 * `vmkd route <guest> <endpoint>`: the product's main job. Prints where to point the debugger
 * (stdout), live status (stderr), and statistics when stopped with Ctrl-C or SIGTERM (exit 0).
 */
export async function runRoute(ctx: CommandContext, guestUri: string, endpointUri: string, options: RouteCommandOptions): Promise<number> {
  // Parse both before opening anything, so a typo in the second costs nothing.
  const guestSpec = parseGuestUri(guestUri);
  parseEndpointUri(endpointUri);
  if (options.relay === true) {
    const { runRelay } = await import('./route-relay.js');
    return runRelay(ctx, guestSpec, endpointUri, options);
  }
  const openOptions = { allowRemote: options.allowRemote === true };
  // The trace file is opened first: a path that cannot be written fails the command before any
  // guest or endpoint exists, instead of a route that runs and silently drops every record.
  const traceSink: TraceSink | undefined = options.trace === undefined ? undefined : await openFileTraceSink(options.trace);

  const progress = ctx.progress(`opening ${guestUri}`);
  let guest;
  let endpoint;
  try {
    guest = await openGuest(guestUri, openOptions).catch(async (error: unknown) => {
      await traceSink?.close().catch(() => undefined);
      throw error;
    });
    progress.update(`opening ${endpointUri}`);
    try {
      endpoint = await openEndpoint(endpointUri, openOptions);
    } catch (error) {
      await guest.close();
      await traceSink?.close().catch(() => undefined);
      throw error;
    }
  } finally {
    progress.done();
  }
  const started = performance.now();
  const traceWriter = traceSink === undefined ? undefined : createTraceWriter(traceSink);
  const running = route(guest.link, endpoint.link, {
    ...(traceWriter === undefined ? {} : { trace: traceWriter, traceBytes: options.traceBytes === true }),
    ...(endpoint.refused$ === undefined ? {} : { refused$: endpoint.refused$ }),
  });
  const fastPath = fastPathOf(guest);

  const address = endpoint.address ?? endpointUri;
  // radare2's line carries, as a shell comment, the builds it can debug (and, for the virtual
  // kernel, this kernel's build): it runs as printed.
  const kernelBuild = simGuestBuild(guestSpec);
  const commands = withRadare2Note(endpoint.debuggerCommands ?? [], kernelBuild);
  ctx.resultLine({ guest: guestUri, endpoint: address, debuggerCommands: commands, ...(options.trace ? { trace: options.trace } : {}) }, () =>
    [address, ...commands.map((c) => c.command)].join('\n'),
  );
  ctx.status(`vmkd route: ${guest.description}`);
  ctx.status(`  → debuggers attach at ${address}${options.trace ? `; tracing to ${options.trace}` : ''}. Ctrl-C stops.`);
  const r2Advice = commands.some((c) => c.debugger === 'radare2') ? radare2BuildAdvice(kernelBuild) : undefined;
  if (r2Advice !== undefined) ctx.status(ctx.err.yellow(`  ${r2Advice}`));

  let debuggerAttached = false;
  const subscriptions: Subscription[] = [
    running.events$.subscribe((event) => {
      if (event.kind === 'link' && event.side === 'endpoint' && (event.event === 'connect' || event.event === 'disconnect')) {
        debuggerAttached = event.event === 'connect';
      }
      const line = describeRouteEvent(event, ctx.err, { debuggerAttached });
      if (line !== undefined) ctx.status(`[route] ${line}`);
    }),
  ];
  subscriptions.push(merge(guest.notices$, endpoint.notices$).subscribe((line) => ctx.status(ctx.err.dim(`[route] ${line}`))));
  // A datagram transport's own wire (KDNET), as `kd-decode --kdnet-key` and `vmkd trace
  // --kdnet-key` read it: only with --trace-bytes, as the packets' bytes are.
  if (traceWriter !== undefined && options.traceBytes === true) {
    for (const [side, opened] of [
      ['guest', guest],
      ['endpoint', endpoint],
    ] as const) {
      const datagrams$ = opened.datagrams$;
      if (datagrams$ !== undefined) subscriptions.push(datagrams$.subscribe((datagram) => traceWriter.write(datagramRecord(side, datagram))));
    }
  }
  // The memory fast path's counters in the trace: at each validation, at the end of each stop.
  const traceFastPath = (record: object): void => void traceWriter?.write({ kind: 'fast-path', t: performance.timeOrigin + performance.now(), ...record });
  if (fastPath !== undefined && traceWriter !== undefined) subscriptions.push(fastPath.activity$.subscribe((activity) => traceFastPath(activity)));

  await Promise.race([whenAborted(ctx.io.shutdown), running.done]);
  const fastPathStats = fastPath?.fastPathStats();
  // The last record before the route closes the trace: the totals the exit summary prints.
  if (fastPathStats !== undefined) traceFastPath({ event: 'summary', stats: fastPathStats });
  await running.close();
  const stats = running.stats();
  for (const subscription of subscriptions) subscription.unsubscribe();
  await Promise.all([guest.close(), endpoint.close()]);
  const seconds = (performance.now() - started) / 1000;
  if (ctx.json) ctx.resultLine({ stats, seconds, ...(fastPathStats === undefined ? {} : { fastPath: fastPathStats }) }, () => '');
  else {
    ctx.status(formatRouteStats(stats, seconds));
    if (fastPathStats !== undefined) ctx.status(formatFastPathStats(fastPathStats));
  }
  return 0;
}
