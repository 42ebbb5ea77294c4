/** Microbenchmark of the sim's content generation: fillExpected over 3,944-byte reads. */
import { fillExpected } from '@vmkd/sim-target';
const buf = new Uint8Array(3944);
const a = 0x10000000n;
for (let i = 0; i < 20000; i++) fillExpected(a + BigInt(i * 3944), buf);
const t0 = performance.now();
for (let i = 0; i < 100000; i++) fillExpected(a + BigInt(i * 3944), buf);
console.log('fillExpected µs per 3944 B', ((performance.now() - t0) * 1000 / 100000).toFixed(2));
