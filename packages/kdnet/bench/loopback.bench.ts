/**
 * KDNET over real loopback UDP, the virtual kernel as the target: read throughput and request
 * round trip, with full-size replies (4000-byte payloads, what vmkd's target sends) and with
 * ~1 KiB replies (what a real Windows kdnet.dll sends, kdnet.md §3).
 *
 *   node --import tsx --conditions=@vmkd/source bench/loopback.bench.ts [MiB]
 */
import { createDebuggerSession } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import { openTargetOverKdnet } from '../src/index.js';

const mib = Number(process.argv[2] ?? 16);
for (const maxReplyPayload of [4000, 1024]) {
  const sim = createSimTarget({ cpus: 1, printIntervalMs: 0 });
  const pair = await openTargetOverKdnet(sim, { session: { maxReplyPayload } });
  const session = createDebuggerSession(pair.link, { timeoutMs: 10_000 });
  await session.attach({ timeoutMs: 10_000 });
  const rtts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await session.getVersion();
    rtts.push(performance.now() - t);
  }
  rtts.sort((a, b) => a - b);
  const base = sim.layout.dataRegion.virtualBase;
  const cpu = process.cpuUsage();
  const t = performance.now();
  const read = await session.readVirtual(base, mib * 1024 * 1024);
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const ok = Buffer.from(read.data).equals(Buffer.from(sim.readVirtual(base, mib * 1024 * 1024, 0)));
  console.log(
    `replies ≤ ${maxReplyPayload} B: read ${mib} MiB in ${seconds.toFixed(2)} s = ${(mib / seconds).toFixed(2)} MiB/s (verified: ${ok}), ` +
      `CPU ${((used.user + used.system) / 1000 / mib).toFixed(0)} ms/MiB (both ends, one process), ` +
      `GetVersion RTT p50 ${rtts[100].toFixed(3)} ms p99 ${rtts[198].toFixed(3)} ms`,
  );
  await session.close();
  await pair.close();
  sim.close();
}
