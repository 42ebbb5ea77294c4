import type { VmkdError } from '@vmkd/kd-protocol';
import type { CliIo } from './cli-io.js';
import { styleFor } from './style.js';

/**
 * Reports a failure: the human text on stderr always, and with --json the stable shape
 * `{ "error": { "code", "message" } }` on stdout so scripts get the code.
 */
export function printError(io: CliIo, error: VmkdError, json: boolean, hint?: string): void {
  const style = styleFor(io.stderr, io.env);
  io.stderr.write(`${style.red('error')} ${style.bold(error.code)}: ${error.message}\n`);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  if (cause !== undefined && cause !== error.message) io.stderr.write(`  caused by: ${cause}\n`);
  if (hint !== undefined) io.stderr.write(`${style.dim(hint)}\n`);
  if (json) {
    const body: { code: string; message: string; details?: Readonly<Record<string, unknown>> } = {
      code: error.code,
      message: error.message,
    };
    if (Object.keys(error.details).length > 0) body.details = error.details;
    io.stdout.write(`${JSON.stringify({ error: body })}\n`);
  }
}
