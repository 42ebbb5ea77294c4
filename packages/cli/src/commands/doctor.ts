import { readFileSync } from 'node:fs';
import type { CommandContext } from '../output/command-context.js';
import { findOnPath } from './find-on-path.js';
import { probePath, runNodeProbe } from '../probes/run-probe.js';
import { detectVmwareInChild, type VmwareDetection } from '../probes/detect-vmware.js';

export interface DoctorCheck {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SchemeSupport {
  readonly scheme: string;
  readonly role: 'guest' | 'endpoint' | 'listen' | 'command';
  readonly available: boolean;
  readonly needs: string;
}

export interface DoctorReport {
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly node: string;
  readonly checks: readonly DoctorCheck[];
  readonly schemes: readonly SchemeSupport[];
}

const MIN_NODE: readonly [number, number] = [20, 19];

interface NativeProbe {
  koffi: { ok: boolean; version?: string; reason?: string };
  serialport: { ok: boolean; reason?: string };
}

function nodeVersionOk(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

function ptraceScope(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Gathers the facts; each native check runs in a child process so nothing here can crash vmkd. */
export async function diagnose(env: Readonly<Record<string, string | undefined>>): Promise<DoctorReport> {
  const [nativeOutcome, vmware] = await Promise.all([
    runNodeProbe<NativeProbe>([probePath('native-probe')]),
    detectVmwareInChild(),
  ]);
  const native: NativeProbe = nativeOutcome.ok
    ? nativeOutcome.value
    : { koffi: { ok: false, reason: nativeOutcome.reason }, serialport: { ok: false, reason: nativeOutcome.reason } };
  const socat = findOnPath('socat', env);
  const r2 = findOnPath('r2', env);
  const windows = process.platform === 'win32';
  const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
  const scope = ptraceScope();
  const ptraceOk = linuxX64 && (scope === undefined || scope <= 1);

  const checks: DoctorCheck[] = [
    {
      id: 'node',
      ok: nodeVersionOk(process.version),
      detail: `${process.version} (vmkd needs >= ${MIN_NODE.join('.')})`,
    },
    {
      id: 'koffi',
      ok: native.koffi.ok,
      detail: native.koffi.ok ? `native FFI loads (koffi ${native.koffi.version ?? '?'})` : `native FFI unavailable: ${native.koffi.reason}`,
    },
    {
      id: 'serialport',
      ok: native.serialport.ok,
      detail: native.serialport.ok ? 'serial devices can be opened (serialport binding loads)' : `serial devices unavailable: ${native.serialport.reason}`,
    },
    { id: 'vmware', ok: vmware.vmware, detail: describeVmware(vmware) },
    {
      id: 'socat',
      ok: socat !== undefined,
      detail: socat !== undefined ? `found at ${socat} (pty pairs for tests, TCP bridge for radare2)` : 'not found (optional: pty pairs for tests, TCP bridge for radare2)',
    },
    {
      id: 'radare2',
      ok: r2 !== undefined,
      detail: r2 !== undefined ? `found at ${r2}` : 'not found (optional: a KD debugger for Linux, r2 -D winkd)',
    },
  ];
  if (process.platform === 'linux') {
    checks.push({
      id: 'ptrace',
      ok: ptraceOk,
      detail: !linuxX64
        ? 'the ptrace harness needs Linux on x86-64'
        : scope === undefined
          ? 'Yama not present; ptrace of child processes allowed'
          : `kernel.yama.ptrace_scope = ${scope}${scope <= 1 ? ' (child processes can be traced)' : ' (tracing children is restricted)'}`,
    });
  }

  const onlyWindows = (needs: string): Pick<SchemeSupport, 'available' | 'needs'> => ({
    available: windows,
    needs: windows ? needs : `Windows only: ${needs}`,
  });
  const notWindows = (needs: string): Pick<SchemeSupport, 'available' | 'needs'> => ({
    available: !windows,
    needs: windows ? 'a Unix-like OS (Node cannot create Unix sockets on Windows); use pipe:// there' : needs,
  });
  const schemes: SchemeSupport[] = [
    { scheme: 'serial+tcp:', role: 'guest', available: true, needs: 'a VM serial port exposed on TCP (QEMU -serial tcp:…,server; VirtualBox tcpserver)' },
    { scheme: 'serial+unix:', role: 'guest', ...notWindows('a VM serial port on a Unix socket (QEMU -serial unix:…,server; VirtualBox server mode on Linux/macOS)') },
    { scheme: 'serial+pipe:', role: 'guest', ...onlyWindows('a VM serial port on a named pipe (VMware, Hyper-V, VirtualBox on Windows)') },
    {
      scheme: 'serial:',
      role: 'guest',
      available: native.serialport.ok,
      needs: native.serialport.ok ? 'a serial or pty device you can open' : `the serialport native binding (${native.serialport.reason})`,
    },
    { scheme: 'kdrpc+proxypipe:', role: 'guest', ...onlyWindows('a VMM-side VirtualKD forwarder in proxy mode') },
    { scheme: 'kdrpc+proxyunix:', role: 'guest', ...notWindows('a VMM-side forwarder speaking the length-framed proxy protocol') },
    { scheme: 'sim://?via=serial', role: 'guest', available: true, needs: 'nothing (the embedded virtual kernel)' },
    { scheme: 'sim://?via=kdrpc', role: 'guest', available: true, needs: 'nothing (in-process emulated VMX)' },
    {
      scheme: 'sim://?via=kdrpc&backdoor=native',
      role: 'guest',
      available: linuxX64 && native.koffi.ok && ptraceOk,
      needs: 'Linux x86-64, koffi, and ptrace of child processes (the trap-and-emulate harness)',
    },
    { scheme: 'pipe:', role: 'endpoint', ...onlyWindows('WinDbg/kd: -k com:pipe,port=\\\\.\\pipe\\NAME,resets=0,reconnect') },
    { scheme: 'unix:', role: 'endpoint', ...notWindows('radare2: r2 -D winkd winkd://PATH') },
    { scheme: 'tcp:', role: 'endpoint', available: true, needs: 'WinDbg/kd: -k com:ipport=PORT,port=HOST' },
    {
      scheme: 'vmkd rpc',
      role: 'command',
      available: vmware.vmware && native.koffi.ok,
      needs: 'a VMware guest (x86-64) and koffi',
    },
  ];

  // Schemes registered in @vmkd/connect that the table above does not describe yet (a transport
  // package added since): listed from their provider's own summary and platforms.
  const { defaultRegistry } = await import('@vmkd/connect');
  const listed = new Set(schemes.map((s) => s.scheme));
  const runsHere = (platforms: readonly string[] | undefined): boolean => platforms === undefined || platforms.includes(process.platform);
  for (const provider of defaultRegistry.guests.values()) {
    if (provider.scheme !== 'sim' && !listed.has(`${provider.scheme}:`)) {
      schemes.push({ scheme: `${provider.scheme}:`, role: 'guest', available: runsHere(provider.platforms), needs: provider.summary });
    }
  }
  for (const variant of defaultRegistry.simVariants.values()) {
    if (!listed.has(`sim://?via=${variant.via}`)) schemes.push({ scheme: `sim://?via=${variant.via}`, role: 'guest', available: true, needs: variant.summary });
  }
  for (const provider of defaultRegistry.endpoints.values()) {
    if (!listed.has(`${provider.scheme}:`)) {
      schemes.push({ scheme: `${provider.scheme}:`, role: 'endpoint', available: runsHere(provider.platforms), needs: provider.summary });
    }
  }

  return { platform: process.platform, arch: process.arch, node: process.version, checks, schemes };
}

function describeVmware(detection: VmwareDetection): string {
  return detection.vmware ? `VMware guest (${detection.detail})` : `not a VMware guest: ${detection.detail}`;
}

export function formatDoctorReport(ctx: CommandContext, report: DoctorReport): string {
  const { out } = ctx;
  const mark = (ok: boolean): string => (ok ? out.green('✓') : out.yellow('✗'));
  const lines = [out.bold(`vmkd doctor: ${report.platform} ${report.arch}, Node ${report.node}`), ''];
  const idWidth = Math.max(...report.checks.map((c) => c.id.length));
  for (const check of report.checks) lines.push(`  ${mark(check.ok)} ${check.id.padEnd(idWidth)}  ${check.detail}`);
  lines.push('', out.bold('Transports on this machine:'));
  const schemeWidth = Math.max(...report.schemes.map((s) => s.scheme.length));
  for (const scheme of report.schemes) {
    lines.push(`  ${mark(scheme.available)} ${scheme.scheme.padEnd(schemeWidth)}  ${out.dim(scheme.role.padEnd(8))} ${scheme.needs}`);
  }
  return lines.join('\n');
}

export async function runDoctor(ctx: CommandContext): Promise<number> {
  const progress = ctx.progress('checking the environment');
  const report = await diagnose(ctx.io.env).finally(() => progress.done());
  ctx.result(report, () => formatDoctorReport(ctx, report));
  return report.checks.find((c) => c.id === 'node')?.ok === false ? 1 : 0;
}
