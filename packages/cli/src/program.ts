import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { CliErrorCode, exitCodeFor, toVmkdError } from './errors.js';
import type { CliIo } from './output/cli-io.js';
import { createCommandContext, type CommandContext } from './output/command-context.js';
import { printError } from './output/print-error.js';
import { parseByteSize, parseIntegerOption } from './uri/parse-values.js';
import { registerCommands } from './commands/register.js';

export type CommandAction = (ctx: CommandContext) => Promise<number | void>;

/** Ties commander's parse of one command to vmkd's context, output mode and exit codes. */
export interface ActionRunner {
  run(command: Command, action: CommandAction): Promise<void>;
}

function packageVersion(): string {
  // The same relative path works from src/ (sources) and dist/ (built).
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** commander option parsers that report bad values as usage errors (exit 2). */
export function integerArg(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    try {
      return parseIntegerOption(name, value, min, max);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

export function sizeArg(name: string): (value: string) => number {
  return (value) => {
    try {
      return parseByteSize(name, value);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}


/**
 * Runs the `vmkd` command line (arguments after the program name) and resolves to the exit
 * status: 0 success, 1 failure, 2 usage error. Never calls process.exit, so it runs in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // Usage errors happen before any action sees its options, so --json is read from argv too.
  const wantsJson = argv.includes('--json');
  let exitCode = 0;
  let json = wantsJson;

  const program = new Command('vmkd')
    .description('Route, serve, benchmark and inspect Windows kernel-debugger (KD) traffic of virtual machines.')
    .version(packageVersion(), '-V, --version', 'print the vmkd version')
    .option('--json', 'print one JSON document on stdout (errors as {"error":{"code","message"}})')
    .helpOption('-h, --help', 'show help for a command')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  program.addHelpText(
    'after',
    `
Exit status: 0 success, 1 failure, 2 usage error. Data goes to stdout, messages to stderr.
Run "vmkd demo" for a tour, "vmkd <command> --help" for details.`,
  );

  const runner: ActionRunner = {
    async run(command, action) {
      json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const code = await action(createCommandContext(io, json));
      exitCode = code ?? 0;
    },
  };
  registerCommands(program, runner);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error, io, json);
    const vmkdError = toVmkdError(error);
    const hint = exitCodeFor(vmkdError) === 2 ? `(add --help for usage)` : HINTS[vmkdError.code];
    printError(io, vmkdError, json, hint);
    return exitCodeFor(vmkdError);
  }
}

/** What to tell a CLI user about errors whose messages speak in library terms. */
const HINTS: Readonly<Record<string, string>> = {
  ERR_SERIAL_REMOTE_BIND_REFUSED: '(add --allow-remote to listen on a non-loopback address: whoever connects controls the kernel)',
  ERR_SERIAL_ADDRESS_IN_USE: '(another process holds that address; pick another, or port 0 for a free one)',
};

function commanderExit(error: CommanderError, io: CliIo, json: boolean): number {
  // --help and --version are successes; commander has already printed them.
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
  if (json) {
    const message = error.message.replace(/^error:\s*/, '').trim() || 'missing command';
    io.stdout.write(`${JSON.stringify({ error: { code: CliErrorCode.Usage, message } })}\n`);
  }
  return 2;
}

