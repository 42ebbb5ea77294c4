/**
 * Runs one or more bench cells with a larger read, for `node --cpu-prof`. Prints read p50 per cell.
 * Usage: node --cpu-prof --import tsx --conditions=@vmkd/source tools/bench/scripts/profile-cell.ts serial-unix/direct [MiB]
 */
import { runBench } from '../src/index.js';

const only = (process.argv[2] ?? 'serial-unix/direct').split(',');
const readMiB = Number(process.argv[3] ?? 32);
const result = await runBench({ quick: true, only, readMiB, progress: false, skipLimits: process.env['LIMITS'] !== '1' });
for (const cell of result.cells) {
  const p50 = cell.readRate?.p50 ?? Number.NaN;
  console.log(`${cell.id}\t${cell.status}\tread p50 ${(p50 / 1e6).toFixed(2)} MB/s\tattach ${cell.attachMs?.toFixed(2)} ms\tCPU s/MiB ${cell.cpuSecondsPerMiB?.toFixed(4)}${cell.reason ? '\t' + cell.reason : ''}`);
}
for (const l of result.limits ?? []) console.log(`${l.socket}\tp50 ${((l as { payloadRate?: { p50: number } }).payloadRate?.p50 ?? 0) / 1e6}`);
