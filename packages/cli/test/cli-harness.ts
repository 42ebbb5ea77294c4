import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/program.js';
import type { CliIo } from '../src/output/cli-io.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured streams (no TTY, no colour). */
export async function runInProcess(argv: readonly string[], options: { signal?: AbortSignal; onStderr?: (all: string) => void; onStdout?: (all: string) => void } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: {
      write: (text: string) => {
        stdout += text;
        options.onStdout?.(stdout);
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
        options.onStderr?.(stderr);
      },
    },
    env: { PATH: process.env['PATH'] },
    shutdown: options.signal ?? new AbortController().signal,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

export const CLI_SOURCE = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const CLI_BIN = fileURLToPath(new URL('../bin.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The node arguments that start `vmkd`: its sources through tsx, or, when `VMKD_TEST_BUILT_CLI=1`,
 * the built CLI (bin.js → dist, what npm ships). The Windows lane sets it (docs/testing.md): it
 * builds before it runs, and under Wine every tsx child starts esbuild.exe and transforms the
 * sources again, which costs each `vmkd` child seconds of CPU the tests then wait for.
 */
export function cliNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return env['VMKD_TEST_BUILT_CLI'] === '1' ? [CLI_BIN] : ['--import', 'tsx', '--conditions=@vmkd/source', CLI_SOURCE];
}

/** Child processes started by a test; `killAll()` in afterEach ends every one still running. */
export function createChildTracker() {
  const children = new Set<ChildProcess>();
  return {
    /** Spawns `vmkd …`, from sources as `node --import tsx --conditions=@vmkd/source packages/cli/src/cli.ts …` (see `cliNodeArgs`). */
    spawnCli(args: readonly string[], cwd?: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
      const child = spawn(process.execPath, [...cliNodeArgs(), ...args], {
        cwd: cwd ?? REPO_ROOT,
        env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    track(child: ChildProcess): ChildProcess {
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    async killAll(): Promise<void> {
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      children.clear();
    },
  };
}

/** Collects a child's output and resolves with its exit status (rejects after `timeoutMs`). */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<CliRun & { signal: NodeJS.Signals | null }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain before reporting.
      setImmediate(() => resolve({ code: code ?? -1, signal, stdout, stderr }));
    });
  });
}

/** Resolves with the first match of `pattern` in the child's stream (rejects on exit or timeout). */
export function waitForOutput(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const source = child[stream];
  if (!source) return Promise.reject(new Error(`no ${stream} pipe`));
  let seen = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer | string): void => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`child exited (${code}) before ${pattern} on ${stream}; saw: ${seen}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms; saw: ${seen}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      source.off('data', onData);
      child.off('exit', onExit);
    };
    source.on('data', onData);
    child.once('exit', onExit);
  });
}
