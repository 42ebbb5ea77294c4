/** The streams and process facts a command sees; injectable so the whole CLI runs in-process in tests. */
export interface CliStream {
  /** Text, or bytes for binary output (`vmkd trace --kdcom`). */
  write(chunk: string | Uint8Array): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIo {
  /** Data only: results, and the JSON document with --json. */
  readonly stdout: CliStream;
  /** Everything for humans: status, progress, warnings, error text. */
  readonly stderr: CliStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted on Ctrl-C / SIGTERM, and when the reader of stdout goes away (`vmkd trace … | head`):
   * long-running commands shut down cleanly when it fires, and commands that print a stream of
   * lines stop printing. The reason is the signal name, or {@link OUTPUT_CLOSED}.
   */
  readonly shutdown: AbortSignal;
}

/** `shutdown.reason` when stdout's reader closed the pipe: the end of output, not a failure. */
export const OUTPUT_CLOSED = 'output-closed';

/** True when the command stopped because nobody reads its output any more. */
export function outputClosed(io: CliIo): boolean {
  return io.shutdown.aborted && io.shutdown.reason === OUTPUT_CLOSED;
}

/** Write errors that mean "the reader is gone" rather than a fault of ours. */
const CLOSED_CODES: ReadonlySet<string> = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'ECONNRESET']);

/**
 * Wraps a process stream so that a closed reader ends output instead of crashing: the first write
 * error with a "reader gone" code calls `onClosed` once, and later writes are dropped. Any other
 * write error is reported the same way (there is nowhere left to print it).
 */
export function guardStream(stream: NodeJS.WriteStream, onClosed: (code: string) => void): CliStream {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (closed) return;
    closed = true;
    onClosed(error.code !== undefined && CLOSED_CODES.has(error.code) ? error.code : (error.code ?? 'EIO'));
  });
  return {
    write(chunk: string | Uint8Array) {
      if (closed || stream.destroyed) return false;
      return stream.write(chunk);
    },
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
  };
}

/** The real process streams, with SIGINT/SIGTERM and a closed stdout turned into an abort. */
export function createProcessIo(): CliIo {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted && controller.signal.reason !== OUTPUT_CLOSED) {
      // A second Ctrl-C means "now": skip the clean shutdown.
      process.exit(130);
    }
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stdout = guardStream(process.stdout, () => {
    if (!controller.signal.aborted) controller.abort(OUTPUT_CLOSED);
  });
  // A closed stderr (`vmkd demo 2>&1 | head`) ends nothing by itself: stdout's reader decides.
  const stderr = guardStream(process.stderr, () => undefined);
  return { stdout, stderr, env: process.env, shutdown: controller.signal };
}

/** Resolves when the signal aborts (immediately if it already has). */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
