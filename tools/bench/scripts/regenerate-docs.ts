/**
 * Regenerates docs/benchmarks/ (results.json, results.md, the charts), the "Latest results"
 * section of docs/benchmarking.md and the README's benchmark section from ONE full run.
 *
 *   npm run bench:docs -w @vmkd/bench                       # build first; runs the full bench from dist
 *   npm run bench:docs -w @vmkd/bench -- --from FILE.json   # regenerate the docs from a run already made
 *
 * The bench runs from the built JavaScript (as `vmkd bench` does when installed), so its child
 * processes (route, guest) are plain Node processes and their peak RSS is what a user's would be.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DOC_MARKERS, README_MARKERS, renderDocSection, renderReadmeSection, replaceBetween } from '../src/docs-sections.js';
import type { BenchResult } from '../src/result-types.js';
import { writeBenchOutputs } from '../src/write-outputs.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const outDir = `${root}docs/benchmarks`;
const args = process.argv.slice(2);
const fromIndex = args.indexOf('--from');
let result: BenchResult;
if (fromIndex >= 0 && args[fromIndex + 1] !== undefined) {
  result = JSON.parse(await readFile(args[fromIndex + 1] ?? '', 'utf8')) as BenchResult;
} else {
  const main = `${root}tools/bench/dist/main.js`;
  if (!existsSync(main)) throw new Error('build the bench first: npx nx run @vmkd/bench:build');
  const benchArgs = ['--json', ...args];
  const child = spawn(process.execPath, [main, ...benchArgs], { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 && code !== 1) throw new Error(`vmkd-bench exited ${code}`);
  result = JSON.parse(out) as BenchResult;
  result = { ...result, command: `vmkd bench ${args.join(' ')}`.trim() };
  // Keep the run before rendering anything: a renderer's failure must not lose 30 minutes of measurements.
  await mkdir(outDir, { recursive: true });
  await writeFile(`${outDir}/results.json`, `${JSON.stringify(result, null, 2)}\n`);
}
await writeBenchOutputs(result, outDir);
const doc = `${root}docs/benchmarking.md`;
await writeFile(
  doc,
  replaceBetween(await readFile(doc, 'utf8'), DOC_MARKERS, renderDocSection(result, { throughput: 'benchmarks/throughput.svg', latency: 'benchmarks/latency.svg', json: 'benchmarks/results.json', markdown: 'benchmarks/results.md' })),
);
const readme = `${root}README.md`;
await writeFile(readme, replaceBetween(await readFile(readme, 'utf8'), README_MARKERS, renderReadmeSection(result)));
process.stderr.write(`wrote ${outDir}, ${doc} and ${readme}\n`);
