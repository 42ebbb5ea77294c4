/** Where the progress bar draws: stderr (humans), never stdout (data). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressBar {
  /** Overall fraction 0 … 1 and a label (the cell and its phase). */
  update(fraction: number, label: string): void;
  /** A line that stays (a cell finished), printed above the bar. */
  log(line: string): void;
  done(): void;
}

/**
 * A one-line progress bar redrawn in place on a terminal (at most 10 times a second); on a pipe
 * or file it writes only the lines given to log(), so CI logs stay readable.
 */
export function createProgressBar(stream: ProgressStream, options: { now?: () => number } = {}): ProgressBar {
  const now = options.now ?? (() => performance.now());
  const tty = stream.isTTY === true;
  let last = -Infinity;
  let shown = false;
  let current = { fraction: 0, label: '' };
  const started = now();

  const draw = (): void => {
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 50));
    const f = Math.max(0, Math.min(1, current.fraction));
    const filled = Math.round(f * width);
    const elapsed = ((now() - started) / 1000).toFixed(0);
    const text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${elapsed.padStart(4)}s ${current.label}`;
    const max = (stream.columns ?? 80) - 1;
    stream.write(`\r\x1b[2K${text.length > max ? text.slice(0, max) : text}`);
    shown = true;
  };

  return {
    update(fraction, label) {
      current = { fraction, label };
      if (!tty) return;
      const t = now();
      if (t - last < 100 && fraction < 1) return;
      last = t;
      draw();
    },
    log(line) {
      if (tty && shown) stream.write('\r\x1b[2K');
      stream.write(`${line}\n`);
      if (tty && shown) draw();
    },
    done() {
      if (tty && shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
