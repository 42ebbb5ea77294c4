/**
 * The full KDNET fuzz run: 100,000 random and mutated datagrams into each role (the test runs a
 * smaller count). Prints the counts, the time taken and the heap before and after, and exits
 * non-zero on any violation or if the heap grew by more than 64 MiB.
 *
 *   npx nx run kdnet:bench        (or: node --import tsx --conditions=@vmkd/source bench/fuzz.bench.ts [count])
 */
import { fuzzRole } from './fuzz-kit.js';

const count = Number(process.argv[2] ?? 100_000);
let failed = false;
for (const role of ['guest', 'endpoint'] as const) {
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const report = fuzzRole(role, count, role === 'guest' ? 0x5eed : 0xbeef);
  const ms = performance.now() - started;
  globalThis.gc?.();
  const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  console.log(
    `${role}: ${report.datagrams} datagrams in ${(ms / 1000).toFixed(1)} s (${Math.round(report.datagrams / (ms / 1000))}/s), ` +
      `${report.unauthenticated} unauthenticated, ${report.delivered} packets delivered, drops ${JSON.stringify(report.state.stats.drops)}, ` +
      `heap ${grownMiB >= 0 ? '+' : ''}${grownMiB.toFixed(1)} MiB, violations ${report.violations.length}`,
  );
  for (const v of report.violations) console.log(`  ${v}`);
  if (report.violations.length > 0 || grownMiB > 64) failed = true;
}
process.exit(failed ? 1 : 0);
