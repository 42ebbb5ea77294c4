import { VmkdError } from '@vmkd/kd-protocol';
import { HarnessErrorCode } from './errors.js';
import { runUnderHarness, type HarnessOptions, type HarnessRun } from './run-under-harness.js';

export interface RunUntilReadyOptions extends Omit<HarnessOptions, 'onStdout' | 'onStderr'> {
  /** Matched against the program's standard output; the first match means it is ready. */
  readonly ready: RegExp;
  /** How long the program may take to print its ready line (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Standard output after the ready line. */
  readonly onStdout?: (chunk: Buffer) => void;
}

export interface ReadyHarnessRun {
  readonly run: HarnessRun;
  /** The match of `ready` in the program's output. */
  readonly match: RegExpExecArray;
}

/** How much of the program's standard error a start-up failure quotes. */
const STDERR_QUOTE = 4096;

/**
 * Starts a program under the harness and resolves once it prints its ready line: a guest that
 * must finish its own set-up (load stubs, detect VMware, open channels) before the host side can
 * use it. If it exits or stays silent first, it is killed and the error quotes its standard error.
 */
export async function runUnderHarnessUntilReady(options: RunUntilReadyOptions): Promise<ReadyHarnessRun> {
  const { ready, startTimeoutMs = 30_000, onStdout, ...harness } = options;
  let stdout = '';
  let stderr = '';
  let started = false;
  let onReady: (match: RegExpExecArray) => void = () => undefined;
  const readyMatch = new Promise<RegExpExecArray>((resolve) => (onReady = resolve));
  const run = await runUnderHarness({
    ...harness,
    onStdout: (chunk) => {
      if (started) {
        onStdout?.(chunk);
        return;
      }
      stdout += chunk.toString();
      const match = ready.exec(stdout);
      if (match !== null) {
        started = true;
        onReady(match);
      }
    },
    onStderr: (chunk) => {
      if (stderr.length < STDERR_QUOTE) stderr += chunk.toString();
    },
  });
  const quote = (): string => stderr.trim().slice(0, 500);
  let timer: NodeJS.Timeout | undefined;
  try {
    const match = await Promise.race([
      readyMatch,
      run.exited.then((exit) => {
        throw new VmkdError(HarnessErrorCode.StartFailed, `${options.command} exited before it was ready (${JSON.stringify(exit)}): ${quote()}`, { details: { exit } });
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new VmkdError(HarnessErrorCode.StartTimeout, `${options.command} was not ready within ${startTimeoutMs} ms: ${quote()}`, { details: { startTimeoutMs } })),
          startTimeoutMs,
        );
      }),
    ]);
    return { run, match };
  } catch (error) {
    run.kill();
    await run.exited.catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
