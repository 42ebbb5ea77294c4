/** The streams and process facts a command sees; injectable so the whole CLI runs in-process in tests. */
export interface CliStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIo {
  /** Data only: results, and the JSON document with --json. */
  readonly stdout: CliStream;
  /** Everything for humans: status, progress, warnings, error text. */
  readonly stderr: CliStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C / SIGTERM; long-running commands shut down cleanly when it fires. */
  readonly shutdown: AbortSignal;
}

/** The real process streams, with SIGINT/SIGTERM turned into an abort. */
export function createProcessIo(): CliIo {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      // A second Ctrl-C means "now": skip the clean shutdown.
      process.exit(130);
    }
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, shutdown: controller.signal };
}

/** Resolves when the signal aborts (immediately if it already has). */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
