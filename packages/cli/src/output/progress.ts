import type { CliStream } from './cli-io.js';

export interface Progress {
  /** Changes the label shown. */
  update(label: string): void;
  /** Stops and clears the indicator; `message` (if any) is printed as a final line. */
  done(message?: string): void;
}

export interface ProgressOptions {
  /** Nothing is shown for work that finishes sooner than this (house style: progress past one second). */
  readonly delayMs?: number;
  readonly now?: () => number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A progress indicator on stderr that appears only once work has taken longer than a second.
 * On a terminal it is a spinner with elapsed seconds, redrawn in place; elsewhere (pipes, CI logs)
 * it is one plain line, so logs stay readable.
 */
export function startProgress(stream: CliStream, label: string, options: ProgressOptions = {}): Progress {
  const delayMs = options.delayMs ?? 1000;
  const now = options.now ?? (() => performance.now());
  const started = now();
  const tty = stream.isTTY === true;
  let current = label;
  let frame = 0;
  let shown = false;
  let stopped = false;
  let ticker: NodeJS.Timeout | undefined;

  const draw = (): void => {
    const seconds = ((now() - started) / 1000).toFixed(1);
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${current} ${seconds} s`);
  };
  const show = (): void => {
    if (stopped) return;
    shown = true;
    if (tty) {
      draw();
      ticker = setInterval(draw, 100);
      ticker.unref();
    } else {
      stream.write(`${current} …\n`);
    }
  };
  const delay = setTimeout(show, delayMs);
  delay.unref();

  return {
    update(next: string): void {
      if (!tty && shown && next !== current) stream.write(`${next} …\n`);
      current = next;
    },
    done(message?: string): void {
      if (stopped) return;
      stopped = true;
      clearTimeout(delay);
      if (ticker) clearInterval(ticker);
      if (shown && tty) stream.write('\r\x1b[2K');
      if (message !== undefined) stream.write(`${message}\n`);
    },
  };
}

/** Runs `work` with a progress indicator that is always cleaned up. */
export async function withProgress<T>(stream: CliStream, label: string, work: (progress: Progress) => Promise<T>): Promise<T> {
  const progress = startProgress(stream, label);
  try {
    return await work(progress);
  } finally {
    progress.done();
  }
}
