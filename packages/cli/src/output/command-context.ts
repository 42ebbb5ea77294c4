import type { CliIo } from './cli-io.js';
import { startProgress, type Progress } from './progress.js';
import { styleFor, type Style } from './style.js';

/** What every command action gets: the streams, the output mode, and helpers that respect both. */
export interface CommandContext {
  readonly io: CliIo;
  readonly json: boolean;
  /** Styling for stdout text (plain when piped). */
  readonly out: Style;
  /** Styling for stderr text. */
  readonly err: Style;
  /** The command's result: `json` as one document with --json, else the text (on stdout either way). */
  result(json: unknown, text: () => string): void;
  /**
   * For commands that run until stopped (`route`, `sim`): like result(), but the JSON goes on one
   * line, so a script can read the "ready" document and, later, the final one as JSON Lines.
   */
  resultLine(json: unknown, text: () => string): void;
  /** A status line for humans (stderr). */
  status(line: string): void;
  /** A progress indicator on stderr that shows up only after a second. */
  progress(label: string): Progress;
}

export function createCommandContext(io: CliIo, json: boolean): CommandContext {
  return {
    io,
    json,
    out: styleFor(io.stdout, io.env),
    err: styleFor(io.stderr, io.env),
    result(value, text) {
      if (json) {
        io.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
      } else {
        const body = text();
        io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
      }
    },
    resultLine(value, text) {
      if (json) {
        io.stdout.write(`${JSON.stringify(value, jsonReplacer)}\n`);
      } else {
        const body = text();
        if (body !== '') io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
      }
    },
    status(line) {
      io.stderr.write(`${line}\n`);
    },
    progress(label) {
      return startProgress(io.stderr, label);
    },
  };
}

/** bigint addresses print as 0x… hex strings; byte arrays as hex. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
