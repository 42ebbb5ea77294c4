import type { Command } from 'commander';
import type { ActionRunner } from '../program.js';
import { runDoctor } from './doctor.js';

/** Declares every subcommand: names, arguments, options and help text. Actions live in their own modules. */
export function registerCommands(program: Command, runner: ActionRunner): void {
  program
    .command('doctor')
    .description('check this machine: Node, native FFI, VMware guest detection, socat, and what each URI scheme needs')
    .action(async (_options: unknown, command: Command) => runner.run(command, (ctx) => runDoctor(ctx)));
}
