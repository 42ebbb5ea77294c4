import type { CliStream } from './cli-io.js';

/** ANSI styling, only on a terminal and never when NO_COLOR is set (https://no-color.org). */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

const ANSI: Style = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  green: wrap(32, 39),
  red: wrap(31, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
};

const identity = (text: string): string => text;
const PLAIN: Style = { bold: identity, dim: identity, green: identity, red: identity, yellow: identity, cyan: identity };

export function styleFor(stream: CliStream, env: Readonly<Record<string, string | undefined>>): Style {
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  const force = env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0';
  return !noColor && (force || stream.isTTY === true) ? ANSI : PLAIN;
}

/** Visible width, ignoring ANSI sequences (for table alignment). */
export function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}
