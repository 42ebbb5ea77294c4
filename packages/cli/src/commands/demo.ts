import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebuggerSession } from '@vmkd/kd-protocol';
import { route, type Route } from '@vmkd/router';
import { buildProfile, fillExpected } from '@vmkd/sim-target';
import { VmkdError } from '@vmkd/kd-protocol';
import { CliErrorCode } from '../errors.js';
import { outputClosed } from '../output/cli-io.js';
import type { CommandContext } from '../output/command-context.js';
import { hexdump } from '../output/hexdump.js';
import { connectDebugger, createSimBackend, DEFAULT_SIM_OPTIONS, describeSim, openEndpoint, openGuest, resolveBuild, type GivenSimTarget, type OpenedLink, type SimOptions } from '@vmkd/connect';
import { readExact, readKdDebuggerData, walkModules, walkProcesses } from '../demo/kernel-walk.js';
import { findOnPath } from './find-on-path.js';

export interface DemoOptions {
  readonly baud: number;
  readonly serialKib: number;
  readonly acceleratedMib: number;
}

interface Throughput {
  readonly transport: string;
  readonly bytes: number;
  readonly seconds: number;
  readonly bytesPerSecond: number;
  readonly verified: boolean;
}

/** The kernel a newcomer gets from `vmkd route sim://` too: one default, owned by @vmkd/connect. */
const SIM: SimOptions = DEFAULT_SIM_OPTIONS;

const addr = (value: bigint): string => {
  const hex = value.toString(16).padStart(16, '0');
  return `${hex.slice(0, 8)}\`${hex.slice(8)}`;
};

function rate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  return `${(bytesPerSecond / 1e3).toFixed(1)} kB/s`;
}

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;
}

/** A route from an in-process guest to a local endpoint, with vmkd's debugger attached through it. */
interface Rig {
  readonly endpoint: OpenedLink & { readonly address: string };
  readonly route: Route;
  readonly session: DebuggerSession;
  close(): Promise<void>;
}

async function rigUp(guestUri: string, endpointUri: string, simTarget?: GivenSimTarget): Promise<Rig> {
  const guest = await openGuest(guestUri, simTarget === undefined ? {} : { simTarget });
  let endpoint: OpenedLink;
  try {
    endpoint = await openEndpoint(endpointUri);
  } catch (error) {
    await guest.close();
    throw error;
  }
  const routed = route(guest.link, endpoint.link);
  const address = endpoint.address ?? endpointUri;
  const debuggerSide = await connectDebugger(address, { timeoutMs: 15_000 });
  return {
    endpoint: { ...endpoint, address },
    route: routed,
    session: debuggerSide.session,
    async close() {
      await debuggerSide.close();
      await routed.close();
      await endpoint.close();
      await guest.close();
    },
  };
}

async function measuredRead(session: DebuggerSession, address: bigint, bytes: number, transport: string): Promise<Throughput> {
  const started = performance.now();
  const result = await session.readVirtual(address, bytes);
  const seconds = (performance.now() - started) / 1000;
  const verified = result.bytesRead === bytes && Buffer.from(result.data).equals(Buffer.from(fillExpected(address, new Uint8Array(bytes))));
  if (!verified) {
    throw new VmkdError(CliErrorCode.Internal, `${transport}: the ${bytes}-byte read at 0x${address.toString(16)} came back wrong (${result.bytesRead} bytes, status 0x${result.status.toString(16)})`);
  }
  return { transport, bytes, seconds, bytesPerSecond: bytes / seconds, verified };
}

/** Where the demo's endpoints live: a private temp directory (Unix sockets) or a per-process pipe name. */
function endpointUri(dir: string, name: string): string {
  return process.platform === 'win32' ? `pipe://./pipe/vmkd-demo-${process.pid}-${name}` : `unix:${join(dir, `${name}.sock`)}`;
}

/** Thrown between steps once the demo should stop: Ctrl-C, or nobody reads stdout any more. */
class DemoStopped extends Error {}

/**
 * How the user runs vmkd from where they are: `vmkd` when it is on the PATH (installed, or
 * `npm link`ed), else `npx vmkd`, which finds the workspace's own bin in a clone.
 */
export function vmkdCommand(env: Readonly<Record<string, string | undefined>>): string {
  return findOnPath('vmkd', env) === undefined ? 'npx vmkd' : 'vmkd';
}

/**
 * `vmkd demo`: no set-up. The virtual kernel behind a paced serial line, routed to a local
 * endpoint, with vmkd's own debugger attached through it; then the accelerated path next to it.
 */
export async function runDemo(ctx: CommandContext, options: DemoOptions): Promise<number> {
  const { out } = ctx;
  // A closed stdout (`vmkd demo | head -3`) or Ctrl-C ends the tour at the next step; the
  // finally block below still closes the routes and removes the temporary directory.
  const checkStop = (): void => {
    if (ctx.io.shutdown.aborted) throw new DemoStopped();
  };
  const say = (line = ''): void => {
    checkStop();
    if (!ctx.json) ctx.io.stdout.write(`${line}\n`);
  };
  const report: Record<string, unknown> = {};
  const dir = await mkdtemp(join(tmpdir(), 'vmkd-demo-'));
  const cleanups: (() => Promise<void>)[] = [async () => rm(dir, { recursive: true, force: true })];
  try {
    const backend = createSimBackend(SIM);
    const build = buildProfile(resolveBuild(SIM.build)!);
    const guestUri = `sim://?via=serial&baud=${options.baud}`;
    const serialEndpoint = endpointUri(dir, 'kd-serial');
    say(out.bold(`vmkd demo: a virtual Windows kernel behind a ${options.baud.toLocaleString('en-US')} bit/s serial line, debugged through vmkd`));
    say();

    checkStop();
    let progress = ctx.progress('attaching over the serial line');
    const serial = await rigUp(guestUri, serialEndpoint, { backend, dataRegion: backend.layout.dataRegion });
    cleanups.unshift(() => serial.close());
    const attachStarted = performance.now();
    await serial.session.attach();
    const attachMs = performance.now() - attachStarted;
    progress.done();
    say(`  ${out.dim('guest   ')}  ${describeSim(SIM)}`);
    say(`  ${out.dim('route   ')}  ${guestUri} → router → ${serial.endpoint.address}`);
    say(`  ${out.dim('debugger')}  vmkd's DebuggerSession over KDCOM, attached in ${attachMs.toFixed(0)} ms`);
    report['guest'] = { uri: guestUri, description: describeSim(SIM), endpoint: serial.endpoint.address, attachMs };

    const session = serial.session;
    progress = ctx.progress('reading the version and KDDEBUGGER_DATA64');
    const version = await session.getVersion();
    const kdbg = await readKdDebuggerData(session, version);
    progress.done();
    say();
    say(out.bold('Version') + out.dim(' (GetVersion, then KDDEBUGGER_DATA64 through DebuggerDataList)'));
    say(`  Windows build ${version.minorVersion}, ${version.machineType === 0x8664 ? 'AMD64' : `machine 0x${version.machineType.toString(16)}`}, KD protocol ${version.protocolVersion}, NtBuildLab ${kdbg.ntBuildLab}`);
    say(`  kernel base ${addr(version.kernBase)}, KDDEBUGGER_DATA64 at ${addr(kdbg.address)} (tag ${kdbg.ownerTag}, 0x${kdbg.size.toString(16)} bytes)`);
    report['version'] = { build: version.minorVersion, machineType: version.machineType, protocolVersion: version.protocolVersion, kernBase: version.kernBase, kdDebuggerData: kdbg.address, ntBuildLab: kdbg.ntBuildLab };

    progress = ctx.progress('walking PsLoadedModuleList');
    const modules = await walkModules(session, kdbg.psLoadedModuleList);
    progress.done();
    say();
    say(out.bold('Modules') + out.dim(` (PsLoadedModuleList → KLDR_DATA_TABLE_ENTRY, ${modules.length} entries)`));
    for (const m of modules) say(`  ${addr(m.base)}  ${`0x${m.size.toString(16).padStart(8, '0')}`}  ${m.name}`);
    report['modules'] = modules;

    progress = ctx.progress('walking PsActiveProcessHead');
    const processes = await walkProcesses(session, kdbg.psActiveProcessHead, build.eprocess);
    progress.done();
    say();
    say(out.bold('Processes') + out.dim(` (PsActiveProcessHead → EPROCESS.ActiveProcessLinks, ${processes.length} entries)`));
    say(out.dim(`  ${'PID'.padStart(6)}  ${'PPID'.padStart(6)}  EPROCESS           name`));
    for (const p of processes) say(`  ${String(p.pid).padStart(6)}  ${String(p.parentPid).padStart(6)}  ${addr(p.eprocess)}  ${p.name}`);
    report['processes'] = processes;

    say();
    say(out.bold('Memory') + out.dim(` (db ${addr(kdbg.address)} L40: the KDDEBUGGER_DATA64 header)`));
    const head = await readExact(session, kdbg.address, 64);
    for (const line of hexdump(kdbg.address, head)) say(`  ${line}`);
    report['memory'] = { address: kdbg.address, bytes: head };

    progress = ctx.progress('breakpoint: continue and wait for the hit');
    const bpAddress = backend.layout.idleLoopStart;
    const handle = await session.writeBreakpoint(bpAddress);
    const continued = performance.now();
    await session.continue();
    const hit = await session.waitForStateChange(15_000);
    const hitMs = performance.now() - continued;
    await session.restoreBreakpoint(handle);
    progress.done();
    const hitAt = hit.kind === 'exception' ? hit.exceptionAddress : hit.programCounter;
    say();
    say(out.bold('Breakpoint'));
    say(
      `  bp ${addr(bpAddress)} (the idle loop) → handle ${handle}; g → ${hit.kind === 'exception' && hit.exceptionCode === 0x80000003 ? 'breakpoint hit' : `stopped (${hit.kind})`} at ${addr(hitAt)} on CPU ${hit.processor} after ${hitMs.toFixed(0)} ms; bc ${handle}`,
    );
    report['breakpoint'] = { address: bpAddress, handle, hitAddress: hitAt, processor: hit.processor, afterMs: hitMs };

    const dataBase = backend.layout.dataRegion.virtualBase;
    progress = ctx.progress(`reading ${size(options.serialKib * 1024)} over the serial line`);
    const serialRead = await measuredRead(session, dataBase, options.serialKib * 1024, `serial, ${options.baud.toLocaleString('en-US')} bit/s (KDCOM)`);
    progress.done();
    await serial.close();
    cleanups.shift();

    checkStop();
    progress = ctx.progress(`reading ${size(options.acceleratedMib * 1024 * 1024)} over the accelerated path`);
    const fast = await rigUp('sim://?via=kdrpc', endpointUri(dir, 'kd-kdrpc'));
    cleanups.unshift(() => fast.close());
    await fast.session.attach();
    const fastRead = await measuredRead(fast.session, dataBase, options.acceleratedMib * 1024 * 1024, 'accelerated, KDRPC over GuestRPC');
    progress.done();
    await fast.close();
    cleanups.shift();

    const reads = [serialRead, fastRead];
    const ratio = fastRead.bytesPerSecond / serialRead.bytesPerSecond;
    say();
    say(out.bold('Throughput') + out.dim(' (memory reads through the route, every byte verified)'));
    const width = Math.max(...reads.map((r) => r.transport.length));
    say(out.dim(`  ${'transport'.padEnd(width)}  ${'read'.padStart(7)}  ${'time'.padStart(7)}  ${'rate'.padStart(10)}`));
    for (const r of reads) say(`  ${r.transport.padEnd(width)}  ${size(r.bytes).padStart(7)}  ${`${r.seconds.toFixed(2)} s`.padStart(7)}  ${rate(r.bytesPerSecond).padStart(10)}`);
    say(`  ${out.green(`the accelerated path read ${Math.round(ratio).toLocaleString('en-US')}× faster`)} (serial line rate: ${rate(options.baud / 10)})`);
    say();
    const next = `${vmkdCommand(ctx.io.env)} route sim:// tcp://127.0.0.1:9999`;
    say(out.dim(`Next: ${next}   then   windbg -k com:ipport=9999,port=127.0.0.1`));
    report['throughput'] = { reads, ratio };
    report['next'] = next;

    checkStop();
    ctx.result(report, () => '');
    return 0;
  } catch (error) {
    if (error instanceof DemoStopped || ctx.io.shutdown.aborted) return outputClosed(ctx.io) ? 0 : 130;
    throw error;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
