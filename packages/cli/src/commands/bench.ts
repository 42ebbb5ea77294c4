import { runBenchCommand } from '@vmkd/bench';
import type { CommandContext } from '../output/command-context.js';

export interface BenchCommandOptions {
  readonly quick?: boolean;
  readonly out?: string;
  readonly only?: string;
  readonly readMib?: number;
}

/**
 * `vmkd bench`: the transport benchmark of `tools/bench` (guest transports × endpoints, direct and
 * routed, against the raw socket limit). Progress on stderr; the table, or --json, on stdout.
 */
export async function runBench(ctx: CommandContext, options: BenchCommandOptions): Promise<number> {
  const argv: string[] = [];
  if (options.quick === true) argv.push('--quick');
  if (ctx.json) argv.push('--json');
  if (options.out !== undefined) argv.push('--out', options.out);
  if (options.only !== undefined) argv.push('--only', options.only);
  if (options.readMib !== undefined) argv.push('--read-mib', String(options.readMib));
  return runBenchCommand(argv, { stdout: ctx.io.stdout, stderr: ctx.io.stderr });
}
