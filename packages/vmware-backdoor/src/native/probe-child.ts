import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { BDOOR_MAGIC, BDOOR_PORT, BackdoorCommand } from '../abi.js';
import { BackdoorNativeErrorCode, NativeErrorCode, nativeError } from './errors.js';
import { stubBytes, stubsForPlatform } from './stubs.js';

export interface ChildProbeResult {
  readonly isVmware: boolean;
  readonly version?: number;
  readonly productType?: number;
  /** The signal that ended the probe child (SIGSEGV for a trapped `IN`), when it died (Linux). */
  readonly signal?: NodeJS.Signals;
  /**
   * The exception that ended the probe child (Windows): a trapped `IN` raises
   * STATUS_PRIVILEGED_INSTRUCTION (0xC0000096), which ends a process as its exit code.
   */
  readonly fault?: 'STATUS_PRIVILEGED_INSTRUCTION' | 'STATUS_ACCESS_VIOLATION';
  /** SMBIOS system vendor (Linux sysfs), a hint only: "VMware, Inc." on VMware. */
  readonly smbiosVendor?: string;
}

export interface ChildProbeOptions {
  /** Default 10 s; the child is killed after it. */
  readonly timeoutMs?: number;
  /** Executable that runs the probe; default `process.execPath` (Node). */
  readonly execPath?: string;
}

/*
 * The child is plain CommonJS given on the command line, so it runs the same from the TypeScript
 * sources and from dist, and needs nothing but koffi (its resolved path comes in the environment).
 * It maps the LB I/O stub and runs GETVERSION with no detection at all: that is the point.
 */
const CHILD_SOURCE = `
const koffi = require(process.env.VMKD_PROBE_KOFFI);
const code = Buffer.from(process.env.VMKD_PROBE_STUB, 'hex');
let page;
if (process.platform === 'win32') {
  const k = koffi.load('kernel32.dll');
  page = k.func('void * __stdcall VirtualAlloc(void *, size_t, uint32_t, uint32_t)')(null, 4096, 0x3000, 0x04);
  new Uint8Array(koffi.view(page, 4096)).set(code);
  k.func('int __stdcall VirtualProtect(void *, size_t, uint32_t, _Out_ uint32_t *)')(page, 4096, 0x20, [0]);
} else {
  const c = koffi.load('libc.so.6');
  page = c.func('void *mmap(void *, size_t, int, int, int, int64_t)')(null, 4096, 3, 0x22, -1, 0);
  new Uint8Array(koffi.view(page, 4096)).set(code);
  if (c.func('int mprotect(void *, size_t, int)')(page, 4096, 5) !== 0) throw new Error('mprotect failed');
}
const fn = koffi.decode(page, koffi.proto('void __vmkd_probe(_Inout_ uint32_t *block)'));
const b = new Uint32Array(14);
b[0] = ${BDOOR_MAGIC}; b[2] = ${~BDOOR_MAGIC >>> 0}; b[4] = ${BackdoorCommand.GetVersion}; b[6] = ${BDOOR_PORT};
fn(b);
process.stdout.write(JSON.stringify({ eax: b[0], ebx: b[2], ecx: b[4] }));
`;

/**
 * The "probe anyway" escape hatch (§5.3): runs GETVERSION through the real I/O stub in a child
 * process, with no CPUID check, so a wrong guess kills the child (SIGSEGV), not the caller.
 * Death by a signal means "not VMware"; any other failure is `ERR_BACKDOOR_PROBE_FAILED`.
 */
export async function probeInChildProcess(options: ChildProbeOptions = {}): Promise<ChildProbeResult> {
  if (process.arch !== 'x64' || (process.platform !== 'linux' && process.platform !== 'win32')) {
    throw nativeError(NativeErrorCode.UnsupportedPlatform, `no backdoor probe on ${process.platform}/${process.arch}`);
  }
  const smbiosVendor = await readSmbiosVendor();
  const hint = smbiosVendor === undefined ? {} : { smbiosVendor };
  const koffiPath = createRequire(import.meta.url).resolve('koffi');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const child = spawn(options.execPath ?? process.execPath, ['-e', CHILD_SOURCE], {
    env: { ...process.env, VMKD_PROBE_KOFFI: koffiPath, VMKD_PROBE_STUB: Buffer.from(stubBytes(stubsForPlatform().ioLb)).toString('hex') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-4096)));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(nativeError(BackdoorNativeErrorCode.ProbeFailed, 'cannot start the probe child', undefined, error));
    });
    child.once('close', (exitCode, exitSignal) => {
      clearTimeout(timer);
      resolve({ code: exitCode, signal: exitSignal });
    });
  });
  if (signal === 'SIGKILL') throw nativeError(BackdoorNativeErrorCode.ProbeFailed, `the probe child did not answer within ${timeoutMs} ms`);
  // A trapped IN is SIGSEGV on Linux; on Windows STATUS_PRIVILEGED_INSTRUCTION ends the child with that exit code.
  if (signal !== null) return { isVmware: false, signal, ...hint };
  const fault = windowsFault(code);
  if (fault !== undefined) return { isVmware: false, fault, ...hint };
  if (code !== 0) throw nativeError(BackdoorNativeErrorCode.ProbeFailed, `the probe child failed (exit ${code})`, { stderr: stderr.trim() });
  let parsed: { eax: number; ebx: number; ecx: number };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch (cause) {
    throw nativeError(BackdoorNativeErrorCode.ProbeFailed, 'the probe child printed no register dump', { stdout }, cause);
  }
  if (parsed.ebx !== BDOOR_MAGIC) return { isVmware: false, ...hint };
  return { isVmware: true, version: parsed.eax, productType: parsed.ecx, ...hint };
}

async function readSmbiosVendor(): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    return (await readFile('/sys/class/dmi/id/sys_vendor', 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** The NTSTATUS an unhandled exception leaves as the exit code (as unsigned, or as Node reports it, signed). */
function windowsFault(code: number | null): ChildProbeResult['fault'] {
  if (code === null) return undefined;
  const status = code >>> 0;
  if (status === 0xc0000096) return 'STATUS_PRIVILEGED_INSTRUCTION';
  // Some hosts report a trapped port access as a general protection fault: an access violation.
  if (status === 0xc0000005) return 'STATUS_ACCESS_VIOLATION';
  return undefined;
}
