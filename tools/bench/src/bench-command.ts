import { parseArgs } from 'node:util';
import { isVmkdError, VmkdError } from '@vmkd/kd-protocol';
import { BenchErrorCode } from './errors.js';
import { formatTable } from './format-table.js';
import type { ProgressStream } from './progress.js';
import { runBench } from './run-bench.js';

export interface BenchCommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressStream;
}

const USAGE = `usage: vmkd-bench [--quick] [--json] [--wide] [--out DIR] [--only CELL,…] [--read-mib N] [--dump-mib N] [--recovery-reads N]

  --quick       the small matrix (under a minute on 2 cores)
  --json        print the results as one JSON document on stdout
  --wide        every column in the table (default: fit 100 columns)
  --out DIR     write results.json, results.md, throughput.svg and latency.svg to DIR
  --only LIST   run only these cells, guest kinds, endpoint kinds or run workloads
                (dump, recovery, radare2), comma-separated
  --read-mib N  MiB read by each unpaced cell (default 4 quick, 32 full)
  --dump-mib N  MiB of guest-physical memory each full dump reads (default 16 quick, 1024 full)
  --recovery-reads N  reads of the line-fault recovery workload (default 100 quick, 1000 full)
`;

function positiveInteger(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new VmkdError(BenchErrorCode.BadOption, `${name} must be an integer 1 … ${max}, not ${text}`, { details: { [name]: text } });
  return n;
}

/**
 * The benchmark as a command (`npm run bench`, and what `vmkd bench` does): progress on stderr,
 * the table (or `--json`) on stdout. Returns the exit code: 0, 1 on failure, 2 on bad usage.
 */
export async function runBenchCommand(argv: readonly string[], io: BenchCommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        wide: { type: 'boolean', default: false },
        out: { type: 'string' },
        only: { type: 'string' },
        'read-mib': { type: 'string' },
        'dump-mib': { type: 'string' },
        'recovery-reads': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const readMiB = values['read-mib'] === undefined ? undefined : Number(values['read-mib']);
  try {
    const result = await runBench({
      quick: values.quick,
      progress: io.stderr,
      command: ['vmkd-bench', ...argv].join(' '),
      ...(values.out === undefined ? {} : { outDir: values.out }),
      ...(values.only === undefined ? {} : { only: values.only.split(',').map((s) => s.trim()).filter((s) => s.length > 0) }),
      ...(readMiB === undefined ? {} : { readMiB }),
      ...(values['dump-mib'] === undefined ? {} : { dumpMiB: positiveInteger('--dump-mib', values['dump-mib'], 4096) }),
      ...(values['recovery-reads'] === undefined ? {} : { recoveryReads: positiveInteger('--recovery-reads', values['recovery-reads'], 100_000) }),
    });
    io.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatTable(result, { wide: values.wide })}\n`);
    if (values.out !== undefined) io.stderr.write(`wrote results to ${values.out}\n`);
    return result.cells.some((c) => c.status === 'failed') ? 1 : 0;
  } catch (error) {
    if (values.json) {
      const e = isVmkdError(error) ? { code: error.code, message: error.message } : { code: 'ERR_BENCH_FAILED', message: (error as Error).message };
      io.stdout.write(`${JSON.stringify({ error: e })}\n`);
    } else {
      io.stderr.write(`vmkd-bench: ${(error as Error).message}\n`);
    }
    return isVmkdError(error, 'ERR_BENCH_BAD_OPTION') ? 2 : 1;
  }
}
