/** A bare serial-unix/direct read loop (no bench harness), for strace/perf: N MiB of reads. */
import { createDebuggerSession } from '@vmkd/kd-protocol';
import { openBenchGuest } from '../src/cells/opened-guest.js';

const mib = Number(process.argv[2] ?? 32);
const kind = process.argv[3] ?? 'unix';
const guest = await openBenchGuest(kind === 'kdrpc' ? 'sim://?via=kdrpc&memory=64M&prints=0' : `sim://?via=serial&line=${kind}&baud=0&memory=64M&prints=0`);
const session = createDebuggerSession(guest.link, { timeoutMs: 5000 });
await session.attach({ timeoutMs: 5000 });
const buf = new Uint8Array(256 * 1024);
await session.readVirtualInto(guest.dataBase, buf);
const rates: number[] = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < mib * 4; i++) {
  const t0 = performance.now();
  await session.readVirtualInto(guest.dataBase + BigInt((i % 64) * buf.length), buf);
  rates.push(buf.length / ((performance.now() - t0) / 1000));
}
const cpu = process.cpuUsage(cpu0);
rates.sort((a, b) => a - b);
const reads = (mib * 1024 * 1024) / 3944;
console.log(`${kind}: read p50 ${(rates[rates.length >> 1] / 1e6).toFixed(1)} MB/s, CPU ${((cpu.user + cpu.system) / reads).toFixed(2)} µs/read (user ${(cpu.user / reads).toFixed(2)}, sys ${(cpu.system / reads).toFixed(2)})`);
await session.close();
await guest.close();
