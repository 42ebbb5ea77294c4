import { BenchErrorCode, EXTRA_CELLS, planMatrix, RUN_WORKLOADS, runBenchCommand } from '@vmkd/bench';
import { VmkdError } from '@vmkd/kd-protocol';
import type { CommandContext } from '../output/command-context.js';

export interface BenchCommandOptions {
  readonly quick?: boolean;
  readonly out?: string;
  readonly only?: string;
  readonly readMib?: number;
  readonly dumpMib?: number;
  readonly recoveryReads?: number;
  readonly wide?: boolean;
}

/**
 * An --only list that selects nothing is a usage error that names what there is to choose from,
 * raised before any benchmark work starts.
 */
export function checkOnly(only: string, quick: boolean): void {
  const wanted = only.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const runWide: readonly string[] = [...RUN_WORKLOADS, ...EXTRA_CELLS.map((c) => c.id)];
  if (planMatrix({ quick, only: wanted }).length > 0 || wanted.some((w) => runWide.includes(w))) return;
  const cells = planMatrix({ quick });
  const ids = cells.map((c) => `${c.guest}/${c.endpoint}`);
  const guests = [...new Set(cells.map((c) => c.guest))];
  const endpoints = [...new Set(cells.map((c) => c.endpoint))];
  throw new VmkdError(
    BenchErrorCode.BadOption,
    `--only ${only}: no ${quick ? 'quick ' : ''}cell matches. Cells: ${ids.join(', ')}. Or a guest kind (${guests.join(', ')}), an endpoint kind (${endpoints.join(', ')}) or a run workload (${runWide.join(', ')}).`,
    { details: { only: wanted, cells: ids, guests, endpoints, workloads: runWide } },
  );
}

/**
 * `vmkd bench`: the transport benchmark of `tools/bench` (guest transports × endpoints, direct and
 * routed, against the raw socket limit). Progress on stderr; the table, or --json, on stdout.
 */
export async function runBench(ctx: CommandContext, options: BenchCommandOptions): Promise<number> {
  if (options.only !== undefined) checkOnly(options.only, options.quick === true);
  const argv: string[] = [];
  if (options.quick === true) argv.push('--quick');
  if (ctx.json) argv.push('--json');
  if (options.wide === true) argv.push('--wide');
  if (options.out !== undefined) argv.push('--out', options.out);
  if (options.only !== undefined) argv.push('--only', options.only);
  if (options.readMib !== undefined) argv.push('--read-mib', String(options.readMib));
  if (options.dumpMib !== undefined) argv.push('--dump-mib', String(options.dumpMib));
  if (options.recoveryReads !== undefined) argv.push('--recovery-reads', String(options.recoveryReads));
  return runBenchCommand(argv, { stdout: ctx.io.stdout, stderr: ctx.io.stderr });
}
