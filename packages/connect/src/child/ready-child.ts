import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VmkdError } from '@vmkd/kd-protocol';
import { ConnectErrorCode } from '../errors.js';

/** A bench child process that has printed its `ready …` line. */
export interface ReadyChild {
  readonly pid: number;
  /** The words after `ready` on the child's ready line. */
  readonly words: readonly string[];
  /** Ends the child (stdin closed, then SIGTERM, then SIGKILL) and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * `node` arguments that run `script`, a file beside the module whose URL is `base`: its TypeScript
 * source through tsx when that module runs from source, the compiled `.js` otherwise.
 */
export function childArgs(base: string, script: string, args: readonly string[]): string[] {
  if (base.endsWith('.ts')) {
    return ['--import', 'tsx', '--conditions=@vmkd/source', fileURLToPath(new URL(`./${script}.ts`, base)), ...args];
  }
  return [fileURLToPath(new URL(`./${script}.js`, base)), ...args];
}

/**
 * Starts `script` (a file beside the module whose `import.meta.url` is `base`) in a Node child and
 * waits for its `ready …` line on stdout. The child ends itself when its stdin closes (see
 * `exitWithParent`), so a parent that dies leaves no orphan.
 */
export async function startReadyChild(base: string, script: string, args: readonly string[], options: { readonly startTimeoutMs?: number } = {}): Promise<ReadyChild> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const child = spawn(process.execPath, childArgs(base, script, args), { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (t: string) => {
    // Only the tail matters for a failure report; keep it bounded.
    stderr = (stderr + t).slice(-2000);
  });
  child.stdin?.on('error', () => undefined);
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const words = await waitForReady(child, script, startTimeoutMs, () => stderr);
    if (child.pid === undefined) throw new VmkdError(ConnectErrorCode.ChildFailed, `${script}: no pid`);
    return { pid: child.pid, words, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function waitForReady(child: ChildProcess, script: string, timeoutMs: number, stderr: () => string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let out = '';
    const finish = (error: Error | undefined, words?: string[]): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error !== undefined) reject(error);
      else resolve(words ?? []);
    };
    const onData = (t: string): void => {
      out = (out + t).slice(-4096);
      const m = /^ready(?: (.*))?$/m.exec(out);
      if (m !== null) finish(undefined, (m[1] ?? '').split(' ').filter((w) => w !== ''));
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new VmkdError(ConnectErrorCode.ChildFailed, `${script} exited (${code ?? signal}) before it was ready: ${stderr().trim().slice(-500)}`));
    const onError = (error: Error): void => finish(new VmkdError(ConnectErrorCode.ChildFailed, `${script}: ${error.message}`, { cause: error }));
    const timer = setTimeout(() => finish(new VmkdError(ConnectErrorCode.ChildTimeout, `${script} not ready within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** For child scripts: exit when the parent closes our stdin (or dies). */
export function exitWithParent(cleanup: () => Promise<void>): void {
  const done = (): void => {
    void cleanup()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.stdin.on('end', done).on('error', done).resume();
  process.once('SIGTERM', done);
}
