import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KDRPC_COMMAND_NAME, VmkdError } from '@vmkd/kd-protocol';
import { createEmulatedVmx, createKdrpcHost, runUnderHarness, type HarnessRun } from '@vmkd/vmware-backdoor';
import { BenchErrorCode } from '../errors.js';
import { closeAll, type OpenedGuest } from './opened.js';

/** Why the native-stub cell cannot run on this machine, or undefined when it can. */
export function nativeSkipReason(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `native stubs under the ptrace harness need x86-64 Linux (this is ${process.platform}/${process.arch})`;
  }
  if (process.getuid?.() !== 0) {
    try {
      const scope = Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim());
      if (scope > 1) return `Yama ptrace_scope is ${scope} and this is not root`;
    } catch {
      /* no Yama: ordinary ptrace rules apply */
    }
  }
  if (!existsSync('/bin/sh')) return 'the harness needs /bin/sh';
  return undefined;
}

/** `node` arguments that run the child: its TypeScript source through tsx when we run from source. */
function childArgs(memorySize: number): string[] {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    return ['--import', 'tsx', '--conditions=@vmkd/source', fileURLToPath(new URL('./native-guest-child.ts', self)), String(memorySize)];
  }
  return [fileURLToPath(new URL('./native-guest-child.js', self)), String(memorySize)];
}

/**
 * The accelerated path with real machine code: the guest stack runs in a Node child under the
 * ptrace harness, its backdoor instructions trapped and answered by an emulated VMX here, whose
 * `~kdVMvA` handler is vmkd's KDRPC host. Costs a ptrace round trip (two context switches and
 * register transfers) per backdoor instruction, about 7 per RPC.
 */
export async function openKdrpcNativeGuest(options: { readonly memorySize: number; readonly startTimeoutMs?: number }): Promise<OpenedGuest> {
  const cleanups: (() => unknown)[] = [];
  try {
    const host = createKdrpcHost({ name: 'kdrpc+native', guestIdleTimeoutMs: 30_000 });
    cleanups.push(() => host.close());
    const vmx = createEmulatedVmx();
    cleanups.push(vmx.register(KDRPC_COMMAND_NAME, host.vmxHandler));
    let stdout = '';
    let stderr = '';
    let ready: ((line: string) => void) | undefined;
    const readyLine = new Promise<string>((resolve) => (ready = resolve));
    const run: HarnessRun = await runUnderHarness({
      command: process.execPath,
      args: childArgs(options.memorySize),
      vmx,
      timeoutMs: 24 * 3600_000,
      onStdout: (chunk) => {
        stdout += chunk.toString();
        const m = /^ready .*$/m.exec(stdout);
        if (m !== null) ready?.(m[0]);
      },
      onStderr: (chunk) => {
        if (stderr.length < 4096) stderr += chunk.toString();
      },
    });
    cleanups.push(async () => {
      run.kill();
      await run.exited.catch(() => undefined);
    });
    const startTimeoutMs = options.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const line = await Promise.race([
      readyLine,
      run.exited.then((exit) => {
        throw new VmkdError(BenchErrorCode.ChildFailed, `the native guest exited before it was ready (${JSON.stringify(exit)}): ${stderr.trim().slice(0, 500)}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new VmkdError(BenchErrorCode.Timeout, `the native guest was not ready within ${startTimeoutMs} ms: ${stderr.trim().slice(0, 500)}`)), startTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    const [, base, size] = line.split(' ');
    return {
      link: host,
      dataBase: BigInt(`0x${base}`),
      dataSize: BigInt(`0x${size}`),
      childPid: run.pid,
      wireBytes: () => {
        const s = host.stats();
        return s.bytesIn + s.bytesOut;
      },
      close: () => closeAll(cleanups),
    };
  } catch (error) {
    await closeAll(cleanups);
    throw error;
  }
}
