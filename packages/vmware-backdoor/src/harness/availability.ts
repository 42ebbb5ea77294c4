import { existsSync, readFileSync } from 'node:fs';

/**
 * Why the ptrace harness cannot run on this machine, or undefined when it can. Callers (the CLI,
 * the benchmark, tests) use it to skip or refuse with a reason instead of failing half-way.
 */
export function harnessUnavailableReason(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `the ptrace harness needs x86-64 Linux (this is ${process.platform}/${process.arch})`;
  }
  if (process.getuid?.() !== 0) {
    try {
      const scope = Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim());
      // Scope 2 admits only CAP_SYS_PTRACE, scope 3 nobody; 0 and 1 let a parent trace its child.
      if (scope > 1) return `Yama ptrace_scope is ${scope} and this process is not root`;
    } catch {
      /* no Yama: ordinary ptrace rules apply */
    }
  }
  // The tracee is started through `sh -c 'kill -STOP $$; exec …'` so it can be seized before its first instruction.
  if (!existsSync('/bin/sh')) return 'the ptrace harness needs /bin/sh';
  return undefined;
}
