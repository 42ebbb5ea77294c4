import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Node flags a child needs to run this package the same way this process does (sources need tsx). */
export function childNodeArgs(): string[] {
  return import.meta.url.endsWith('.ts') ? ['--import', 'tsx', '--conditions=@vmkd/source'] : [];
}

/** The path of a sibling probe module, in the same form (.ts or .js) as this file. */
export function probePath(name: string): string {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./${name}${extension}`, import.meta.url));
}

export type ProbeOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/**
 * Runs a probe in a child Node process and parses the JSON it prints last. Probes that load native
 * code (koffi, serialport) or execute CPUID run in a child so that a crash cannot take vmkd down;
 * a crash or timeout becomes a reason string.
 */
export function runNodeProbe<T>(args: readonly string[], timeoutMs = 15_000): Promise<ProbeOutcome<T>> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...childNodeArgs(), ...args],
      { timeout: timeoutMs, maxBuffer: 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        const lines = stdout.trim().split('\n').filter((line) => line.startsWith('{'));
        const last = lines.at(-1);
        if (last !== undefined) {
          try {
            resolve({ ok: true, value: JSON.parse(last) as T });
            return;
          } catch {
            // fall through to the failure report
          }
        }
        const signal = error && 'signal' in error && error.signal ? ` (killed by ${String(error.signal)})` : '';
        const detail = stderr.trim().split('\n').at(-1) ?? '';
        resolve({ ok: false, reason: `probe failed${signal}${detail ? `: ${detail}` : ''}` });
      },
    );
  });
}
