import { VmkdError } from '@vmkd/kd-protocol';
import type { VmkdErrorOptions } from '@vmkd/kd-protocol';
import { ConnectErrorCode } from '@vmkd/connect';

/** Codes the CLI itself raises. Errors from other packages keep their own codes. */
export const CliErrorCode = {
  /** Bad flags, arguments or option values (exit 2). */
  Usage: 'ERR_CLI_USAGE',
  /** A transport URI that does not parse (exit 2); raised by @vmkd/connect, which owns the grammar. */
  BadUri: ConnectErrorCode.BadUri,
  /** The URI is valid but its transport cannot run on this operating system (exit 1). */
  UnsupportedPlatform: ConnectErrorCode.UnsupportedPlatform,
  /** A file the command needs could not be read or parsed (exit 1). */
  BadFile: 'ERR_CLI_BAD_FILE',
  /** Anything that is not a VmkdError (a bug, or an unexpected OS failure) is reported as this (exit 1). */
  Internal: 'ERR_CLI_INTERNAL',
} as const;

/** Codes that mean "the command line was wrong" (exit 2), the CLI's own and those of packages it fronts. */
const USAGE_CODES: ReadonlySet<string> = new Set([CliErrorCode.Usage, CliErrorCode.BadUri, 'ERR_BENCH_BAD_OPTION']);

export function usageError(message: string, options?: VmkdErrorOptions): VmkdError {
  return new VmkdError(CliErrorCode.Usage, message, options);
}


/** Exit status per house style: 2 for usage errors, 1 for every other failure. */
export function exitCodeFor(error: VmkdError): 1 | 2 {
  return USAGE_CODES.has(error.code) ? 2 : 1;
}

/** Normalises anything thrown into a VmkdError, keeping the original as `cause`. */
export function toVmkdError(error: unknown): VmkdError {
  if (error instanceof VmkdError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VmkdError(CliErrorCode.Internal, message, { cause: error });
}
