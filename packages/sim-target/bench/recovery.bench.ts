/**
 * Recovery from KDCOM line faults (issue 15, workload 5), from the command line:
 *
 *   npm run bench:recovery -w @vmkd/sim-target                              # adaptive timeouts (sockets)
 *   npm run bench:recovery -w @vmkd/sim-target -- --mode fixed --reads 100  # legacy UART timeouts
 *
 * `vmkd bench` runs the same measurement (`measureKdcomRecovery` from `@vmkd/sim-target/bench`).
 */
import { measureKdcomRecovery } from '../src/bench/index.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const retransmit = arg('mode', 'adaptive') === 'fixed' ? 'fixed' : 'adaptive';
const reads = Number(arg('reads', '1000'));
const r = await measureKdcomRecovery({ reads, retransmit });
console.log(`KDCOM recovery under line faults: ${r.reads} reads of 4000 bytes over Unix sockets, retransmit=${r.retransmit}`);
console.log(`  clean : ${(r.cleanWallMs / 1000).toFixed(2)} s`);
console.log(`  faulty: ${(r.wallMs / 1000).toFixed(2)} s, ${r.faults} faults (${r.corrupted} corrupted, ${r.dropped} dropped bytes), ${r.resends} resends, ${r.badFrames} bad frames`);
console.log(`  cost per fault: ${r.msPerFault.toFixed(2)} ms (target: < 20 ms on a socket)`);
console.log(`  reads intact: ${r.intact}/${r.reads}; lost ${r.lost}, duplicated ${r.duplicated}`);
console.log(JSON.stringify(r));
// (A read that is not intact passed KDCOM's byte-sum checksum with two cancelling faults: the
// protocol's limit, reported above; a lost or doubled packet is the link layer's fault.)
if (r.lost !== 0 || r.duplicated !== 0) process.exitCode = 1;
