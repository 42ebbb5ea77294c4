import type { Command } from 'commander';
import type { ActionRunner } from '../program.js';
import { runDoctor } from './doctor.js';
import { runTrace } from './trace.js';

/** Declares every subcommand: names, arguments, options and help text. Actions live in their own modules. */
export function registerCommands(program: Command, runner: ActionRunner): void {
  program
    .command('trace')
    .description('pretty-print a route trace file (JSONL written by "vmkd route --trace")')
    .argument('<file>', 'the trace file')
    .addHelpText('after', '\nWith --json, prints a summary (record counts per kind and packet type) instead of the lines.')
    .action(async (file: string, _options: unknown, command: Command) => runner.run(command, (ctx) => runTrace(ctx, file)));

  program
    .command('doctor')
    .description('check this machine: Node, native FFI, VMware guest detection, socat, and what each URI scheme needs')
    .action(async (_options: unknown, command: Command) => runner.run(command, (ctx) => runDoctor(ctx)));
}
