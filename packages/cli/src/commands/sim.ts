import { createTargetSession, type TargetActivity } from '@vmkd/kd-protocol';
import {
  createSimBackend,
  describeLinkNotice,
  openEndpoint,
  describeSim,
  lineConnectOptions,
  lineListenOptions,
  pacingFor,
  parseConnectUri,
  parseListenUri,
  resolveBuild,
  SIM_BUILD_CHOICES,
  type SimOptions,
} from '@vmkd/connect';
import { createSerialTargetLink, type SerialPacketLinkOptions } from '@vmkd/serial-fallback';
import { usageError } from '../errors.js';
import { whenAborted } from '../output/cli-io.js';
import type { CommandContext } from '../output/command-context.js';
import { simBuild, withRadare2Note } from './radare2-builds.js';

export interface SimCommandOptions {
  readonly listen?: string;
  readonly connect?: string;
  readonly build: SimOptions['build'];
  readonly memory: number;
  readonly cpus: number;
  readonly baud: number;
  readonly allowRemote?: boolean;
  readonly ramFile?: string;
}

function describeActivity(a: TargetActivity): string | undefined {
  if (a.kind === 'state-change' && !a.resend) {
    return a.reason.kind === 'exception'
      ? `stopped: exception 0x${a.reason.code.toString(16)} at 0x${a.reason.address.toString(16)} (CPU ${a.reason.cpu})`
      : `stopped: ${a.reason.unload ? 'unload' : 'load'} ${a.reason.imageName}`;
  }
  if (a.kind === 'print') return `DbgPrint: ${a.text.trimEnd()}`;
  return undefined;
}

/**
 * `vmkd sim`: the virtual Windows kernel as a serial-like KDCOM peer, in its own process. It plays
 * the target; a debugger, or `vmkd route`, plays the debugger side. Like a serial port it has one
 * peer at a time: a newcomer takes over (a debugger or router reconnecting), and the kernel keeps
 * its state between peers.
 */
export async function runSim(ctx: CommandContext, options: SimCommandOptions): Promise<number> {
  if ((options.listen === undefined) === (options.connect === undefined)) {
    throw usageError('give exactly one of --listen <uri> or --connect <uri>');
  }
  if (resolveBuild(options.build) === undefined) {
    throw usageError(`--build ${options.build} is not one of ${SIM_BUILD_CHOICES.join(', ')}`);
  }
  if (options.listen !== undefined && /^kdnet:/i.test(options.listen)) return runSimOverKdnet(ctx, options, options.listen);
  const pace = pacingFor(options.baud);
  let linkOptions: SerialPacketLinkOptions;
  if (options.listen !== undefined) {
    const spec = parseListenUri(options.listen);
    linkOptions = { listen: lineListenOptions(spec.address, { allowRemote: options.allowRemote === true, ...(pace ? { pace } : {}) }), whenBusy: 'replace' };
  } else {
    const spec = parseConnectUri(options.connect!);
    linkOptions = { connect: lineConnectOptions(spec.address, pace) };
  }
  const sim: SimOptions = { build: options.build, memory: options.memory, cpus: options.cpus, ...(options.ramFile === undefined ? {} : { ramFile: options.ramFile }) };
  const backend = createSimBackend(sim);
  const link = await createSerialTargetLink(linkOptions);
  const session = createTargetSession(link, backend);
  const subscriptions = [
    link.events$.subscribe((event) => {
      if (event.kind === 'connect') ctx.status(ctx.err.dim(`[sim] debugger side connected${event.peer === undefined ? '' : ` (${event.peer})`}`));
      if (event.kind === 'disconnect') ctx.status(ctx.err.dim(`[sim] debugger side disconnected${event.error ? `: ${event.error.message}` : ''}`));
    }),
    link.notices$.subscribe((notice) => ctx.status(ctx.err.dim(`[sim] ${describeLinkNotice(notice, 'debugger side')}`))),
    session.activity$.subscribe((activity) => {
      const line = describeActivity(activity);
      if (line !== undefined) ctx.status(ctx.err.dim(`[sim] ${line}`));
    }),
  ];

  const address = link.address;
  const mode = 'listen' in linkOptions ? 'listen' : 'connect';
  ctx.resultLine({ address, mode, baud: options.baud, sim: { ...sim, description: describeSim(sim) } }, () => address);
  ctx.status(
    `vmkd sim: ${describeSim(sim)}; KDCOM ${mode === 'listen' ? 'listening on' : 'on'} ${address}` +
      `${options.baud > 0 ? `, paced at ${options.baud} bit/s` : ', unpaced'}. Ctrl-C stops.`,
  );

  await whenAborted(ctx.io.shutdown);
  for (const subscription of subscriptions) subscription.unsubscribe();
  await session.close();
  await link.close();
  const stats = link.stats();
  if (ctx.json) ctx.resultLine({ stopped: { connections: link.connections, stats } }, () => '');
  ctx.status(`vmkd sim: stopped after ${link.connections} connection${link.connections === 1 ? '' : 's'}; ${stats.packetsIn} packets in, ${stats.packetsOut} out, ${stats.resends} resends.`);
  return 0;
}

/**
 * `vmkd sim --listen kdnet://HOST:PORT?key=K`: the virtual kernel as a KDNET target for an external
 * KDNET debugger at HOST:PORT (WinDbg `-k net:port=PORT,key=K`, radare2 `winkd://`). The URI is the
 * `kdnet://` endpoint's: vmkd pokes the debugger, as a Windows target pokes its host.
 */
async function runSimOverKdnet(ctx: CommandContext, options: SimCommandOptions, uri: string): Promise<number> {
  const sim: SimOptions = { build: options.build, memory: options.memory, cpus: options.cpus };
  const backend = createSimBackend(sim);
  const endpoint = await openEndpoint(uri, { allowRemote: options.allowRemote === true });
  // radare2 refuses replies over 2048 payload bytes (kd-protocol.md 1.12); WinDbg takes them too.
  const session = createTargetSession(endpoint.link, backend, { maxReplyPayload: 2048 });
  const subscriptions = [
    endpoint.link.events$.subscribe((event) => {
      if (event.kind === 'connect') ctx.status(ctx.err.dim(`[sim] KDNET debugger connected${event.peer === undefined ? '' : ` (${event.peer})`}`));
      if (event.kind === 'disconnect') ctx.status(ctx.err.dim(`[sim] KDNET debugger gone${event.error ? `: ${event.error.message}` : ''}`));
    }),
    session.activity$.subscribe((activity) => {
      const line = describeActivity(activity);
      if (line !== undefined) ctx.status(ctx.err.dim(`[sim] ${line}`));
    }),
  ];
  // radare2's line names the builds it can debug and this kernel's, as `vmkd route`'s does.
  const commands = withRadare2Note(endpoint.debuggerCommands ?? [], simBuild(sim.build));
  ctx.resultLine({ address: endpoint.address, mode: 'kdnet', debuggerCommands: commands, sim: { ...sim, description: describeSim(sim) } }, () =>
    [endpoint.address ?? uri, ...commands.map((c) => c.command)].join('\n'),
  );
  ctx.status(`vmkd sim: ${describeSim(sim)}; ${endpoint.description}. Ctrl-C stops.`);
  await whenAborted(ctx.io.shutdown);
  for (const subscription of subscriptions) subscription.unsubscribe();
  await session.close();
  const stats = endpoint.link.stats();
  await endpoint.close();
  backend.close();
  ctx.status(`vmkd sim: stopped; ${stats.packetsIn} packets in, ${stats.packetsOut} out, ${stats.resends} resends.`);
  return 0;
}
