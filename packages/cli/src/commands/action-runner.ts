import type { Command } from 'commander';
import type { CommandContext } from '../output/command-context.js';

export type CommandAction = (ctx: CommandContext) => Promise<number | void>;

/** Ties commander's parse of one command to vmkd's context, output mode and exit codes. */
export interface ActionRunner {
  run(command: Command, action: CommandAction): Promise<void>;
}
