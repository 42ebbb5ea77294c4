// As profile-cell.ts, from the compiled dist (run `npx nx run @vmkd/bench:build` first): no loader
// in the profile, real line numbers. Usage: node --cpu-prof tools/bench/scripts/profile-cell-dist.mjs CELL[,CELL] [MiB]
import { runBench } from '../dist/index.js';

const only = (process.argv[2] ?? 'serial-unix/direct').split(',');
const readMiB = Number(process.argv[3] ?? 32);
const result = await runBench({ quick: true, only, readMiB, progress: false, skipLimits: process.env['LIMITS'] !== '1' });
for (const cell of result.cells) {
  const p50 = cell.readRate?.p50 ?? Number.NaN;
  console.log(`${cell.id}\t${cell.status}\tread p50 ${(p50 / 1e6).toFixed(2)} MB/s\toverall ${((cell.readBytesPerSecond ?? 0) / 1e6).toFixed(2)} MB/s\tRTT p50 ${((cell.latencyMs?.p50 ?? 0) * 1000).toFixed(1)} µs\tCPU s/MiB ${cell.cpuSecondsPerMiB?.toFixed(4)}${cell.reason ? '\t' + cell.reason : ''}`);
}
