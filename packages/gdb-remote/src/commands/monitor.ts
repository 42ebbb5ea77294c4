import { KdApi, MANIPULATE_LAYOUTS, createManipulate, kdApiName, type DebuggerSession, type GetVersion64, type ManipulateInit } from '@vmkd/kd-protocol';
import { walkModules, walkProcesses } from '../kernel/kernel-walk.js';

/**
 * `monitor …` (qRcmd): vmkd's own commands, answered as text that the stub sends back in `O`
 * packets. `kd <Api> field=value …` sends any KD manipulate request and prints the decoded reply,
 * for everything gdb has no command of its own for.
 */

export interface MonitorContext {
  readonly session: DebuggerSession;
  readonly version: () => Promise<GetVersion64>;
  /** The CPU register and memory requests go to (gdb's Hg thread). */
  readonly processor: number;
  readonly packageVersion: string;
}

const HELP = `vmkd monitor commands:
  version                  vmkd and target version, kernel base, module list head
  lm                       loaded kernel modules (PsLoadedModuleList)
  ps                       active processes (PsActiveProcessHead)
  kd-break                 KD break-in (reports the stop the target is in)
  kd <Api> [field=value]…  any KD manipulate request, e.g. "kd ReadControlSpace processor=0 targetBaseAddress=2 transferCount=0xe0"
  help                     this text
`;

/** APIs with no reply packet: they resume the target behind gdb's back, so they are refused here. */
const REFUSED = new Set<number>([KdApi.Continue, KdApi.ContinueApi2, KdApi.SwitchProcessor, KdApi.Reboot, KdApi.CauseBugCheck]);

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const pad = (v: bigint): string => v.toString(16).padStart(16, '0');

export async function runMonitor(command: string, context: MonitorContext): Promise<string> {
  const words = command.trim().split(/\s+/).filter((w) => w.length > 0);
  const [verb, ...args] = words;
  switch (verb) {
    case undefined:
    case 'help':
      return HELP;
    case 'version': {
      const v = await context.version();
      return (
        `vmkd gdb-remote ${context.packageVersion}\n` +
        `target: Windows ${v.majorVersion === 0xf ? 'free' : v.majorVersion === 0xc ? 'checked' : `major ${hex(v.majorVersion)}`} build ${v.minorVersion}, ` +
        `machine ${hex(v.machineType)}, KD protocol ${v.protocolVersion}\n` +
        `KernBase ${hex(v.kernBase)}  PsLoadedModuleList ${hex(v.psLoadedModuleList)}  DebuggerDataList ${hex(v.debuggerDataList)}\n`
      );
    }
    case 'lm': {
      const modules = await walkModules(context.session, await context.version());
      let out = 'start             end                 module name\n';
      for (const m of modules) out += `${pad(m.base)}  ${pad(m.base + BigInt(m.size))}    ${m.name}\n`;
      return out;
    }
    case 'ps': {
      const processes = await walkProcesses(context.session, await context.version());
      if (processes === undefined) return `ps: EPROCESS offsets of build ${(await context.version()).minorVersion} are not known to vmkd\n`;
      let out = '     PID  PPID  EPROCESS          name\n';
      for (const p of processes) out += `${String(p.pid).padStart(8)} ${String(p.parentPid).padStart(5)}  ${pad(p.eprocess)}  ${p.name}\n`;
      return out;
    }
    case 'kd-break': {
      const stop = await context.session.breakIn();
      return `stopped: CPU ${stop.processor} at ${hex(stop.programCounter)} (${stop.kind === 'exception' ? `exception ${hex(stop.exceptionCode)}` : stop.kind})\n`;
    }
    case 'kd':
      return rawKd(args, context);
    default:
      return `unknown monitor command "${verb}"\n${HELP}`;
  }
}

async function rawKd(args: readonly string[], context: MonitorContext): Promise<string> {
  const [apiText, ...fieldArgs] = args;
  if (apiText === undefined) return 'usage: kd <Api> [field=value]…  (Api: a KD API name such as GetVersion, or a number)\n';
  const apiNumber = /^(0x[0-9a-f]+|\d+)$/i.test(apiText) ? Number(apiText) : (KdApi as Record<string, number>)[apiText];
  if (apiNumber === undefined || !Number.isInteger(apiNumber)) {
    return `kd: unknown API "${apiText}"; known: ${Object.keys(KdApi).join(', ')}\n`;
  }
  if (REFUSED.has(apiNumber)) return `kd: ${kdApiName(apiNumber)} resumes or resets the target; use gdb's continue/step/thread commands\n`;
  const message = createManipulate(apiNumber, {}) as ManipulateInit & Record<string, unknown>;
  const layout = (MANIPULATE_LAYOUTS as Record<string, Record<string, { type: string }>>)[message.layout] ?? {};
  const fields: Record<string, unknown> = { processor: context.processor };
  for (const arg of fieldArgs) {
    const eq = arg.indexOf('=');
    if (eq < 0) return `kd: expected field=value, got "${arg}"\n`;
    const name = arg.slice(0, eq);
    const text = arg.slice(eq + 1);
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) return `kd: ${name}: "${text}" is not a number\n`;
    const type = name === 'processor' || name === 'processorLevel' ? 'u16' : layout[name]?.type;
    if (type === undefined) return `kd: ${message.layout} has no field "${name}"; fields: ${Object.keys(layout).join(', ') || '(none)'}\n`;
    fields[name] = type === 'u64' ? BigInt(text) : Number(text);
  }
  const reply = await context.session.request({ ...message, ...fields }, { processor: fields.processor as number });
  return `${formatReply(reply)}\n`;
}

function formatReply(reply: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(reply)) {
    if (name === 'unused') continue;
    if (value instanceof Uint8Array) {
      if (value.length === 0) continue;
      const shown = Buffer.from(value.subarray(0, 256)).toString('hex').replace(/(.{2})/g, '$1 ').trim();
      lines.push(`${name}: [${value.length} bytes] ${shown}${value.length > 256 ? ' …' : ''}`);
    } else if (typeof value === 'bigint' || typeof value === 'number') {
      lines.push(`${name}: ${hex(value)}`);
    } else {
      lines.push(`${name}: ${String(value)}`);
    }
  }
  return lines.join('\n');
}
