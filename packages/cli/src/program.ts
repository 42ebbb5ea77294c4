import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { VmkdError } from '@vmkd/kd-protocol';
import { CliErrorCode, exitCodeFor, toVmkdError, usageError } from './errors.js';
import type { CliIo } from './output/cli-io.js';
import { createCommandContext } from './output/command-context.js';
import { printError } from './output/print-error.js';
import type { ActionRunner } from './commands/action-runner.js';
import { registerCommands } from './commands/register.js';

function packageVersion(): string {
  // The same relative path works from src/ (sources) and dist/ (built).
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
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
      // commander's own errors (unknown option, missing argument, a bad option value) in vmkd's
      // one error format, code included: `error ERR_CLI_USAGE: unknown option '--frob'`.
      outputError: (text) => printError(io, usageError(usageMessage(text)), false),
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
    const hint = exitCodeFor(vmkdError) === 2 ? `(add --help for usage)` : hintFor(vmkdError);
    printError(io, vmkdError, json, hint);
    return exitCodeFor(vmkdError);
  }
}

/**
 * What a CLI user can do about an error, in the CLI's words (the library's messages state the
 * fact; its remedies are API options). Advice fits the case: port 0 only where there is a port.
 */
function hintFor(error: VmkdError): string | undefined {
  switch (error.code) {
    case 'ERR_SERIAL_REMOTE_BIND_REFUSED':
      return '(add --allow-remote to listen there anyway)';
    case 'ERR_SERIAL_ADDRESS_IN_USE':
      switch (error.details.reason) {
        case 'port-in-use':
          return '(another process holds that port; pick another, or port 0 for a free one)';
        case 'server-alive':
          return '(another process serves that socket; stop it or pick another path)';
        case 'not-a-socket':
          return '(a file that is not a socket is in the way; remove it or pick another path)';
        default:
          return '(another process holds that address; pick another)';
      }
    default:
      return undefined;
  }
}

/** commander's error text without its `error: ` prefix and trailing newline. */
function usageMessage(text: string): string {
  return text.replace(/^error:\s*/, '').trim() || 'missing command';
}

function commanderExit(error: CommanderError, io: CliIo, json: boolean): number {
  // --help and --version are successes; commander has already printed them.
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
  // No command at all: commander printed the help and nothing else; say what was wrong.
  const missingCommand = error.code === 'commander.help';
  if (missingCommand) printError(io, usageError('missing command'), false);
  if (json) {
    const message = missingCommand ? 'missing command' : usageMessage(error.message);
    io.stdout.write(`${JSON.stringify({ error: { code: CliErrorCode.Usage, message } })}\n`);
  }
  return 2;
}

