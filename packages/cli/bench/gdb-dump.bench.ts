/**
 * Bench: 16 MiB read through gdb's `dump binary memory` (RSP `m` packets → the endpoint's
 * DebuggerSession → router → guest transport → virtual kernel) against the same 16 MiB read by
 * vmkd's own DebuggerSession on the same route. Both run against the same stopped kernel; gdb's
 * time is taken inside gdb (Python's clock around the dump), so its start-up is not counted.
 *
 *   npm run bench -w @vmkd/cli            (or: node --import tsx --conditions=@vmkd/source bench/gdb-dump.bench.ts)
 *
 * Prints one Markdown row per guest transport: median of 3 runs each, and the ratio gdb / own.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSimRoute, type GuestVia } from '../test/gdb-remote/sim-route.js';

const SIZE = 16 * 1024 * 1024;
const RUNS = 3;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function gdbDumpSeconds(port: number, base: bigint, file: string): Promise<number> {
  // Asynchronously: the endpoint gdb talks to runs in this process.
  const r = await promisify(execFile)(
    'gdb',
    [
      '-batch',
      '-nx',
      '-ex',
      'set architecture i386:x86-64',
      '-ex',
      `target remote 127.0.0.1:${port}`,
      '-ex',
      'python import time; vmkd_t0 = time.perf_counter()',
      '-ex',
      `dump binary memory ${file} 0x${base.toString(16)} 0x${(base + BigInt(SIZE)).toString(16)}`,
      '-ex',
      'python print("vmkd-elapsed %.6f" % (time.perf_counter() - vmkd_t0))',
      '-ex',
      'kill',
    ],
    { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 24 },
  );
  const m = /vmkd-elapsed ([\d.]+)/.exec(`${r.stdout}${r.stderr}`);
  if (m === null) throw new Error(`gdb did not report a time:\n${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

async function cell(via: GuestVia, packetSize: number): Promise<{ via: GuestVia; packetSize: number; own: number; gdb: number }> {
  const r = await openSimRoute(via, { memorySize: 256 * 1024 * 1024, endpoint: { packetSize } });
  const file = join(tmpdir(), `vmkd-gdb-bench-${process.pid}.bin`);
  try {
    const session = r.endpoint.session;
    await session.attach();
    const base = r.sim.layout.dataRegion.virtualBase + 0x1000n;
    const buffer = new Uint8Array(SIZE);
    const own: number[] = [];
    const gdb: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const got = await session.readVirtualInto(base, buffer);
      own.push((performance.now() - t0) / 1000);
      if (got.bytesRead !== SIZE) throw new Error(`own read stopped at ${got.bytesRead}`);
      gdb.push(await gdbDumpSeconds(r.endpoint.port, base, file));
      if (Buffer.compare(readFileSync(file), buffer) !== 0) throw new Error('gdb dump differs from the own read');
    }
    return { via, packetSize, own: median(own), gdb: median(gdb) };
  } finally {
    rmSync(file, { force: true });
    await r.close();
  }
}

const rows = [];
// The default PacketSize (one `m` = two full KD reads) and a 128 KiB one (one `m` = 64 KiB).
for (const via of ['serial', 'kdrpc'] as const) for (const packetSize of [0x3da0, 0x20000]) rows.push(await cell(via, packetSize));
console.log(`16 MiB read, median of ${RUNS} (${new Date().toISOString()}, node ${process.version})\n`);
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs\n`);
console.log('| route (guest → gdb://) | PacketSize | DebuggerSession | gdb `dump binary memory` | gdb / own | MiB/s via gdb |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| sim via ${r.via} (unpaced, in-process) | 0x${r.packetSize.toString(16)} | ${r.own.toFixed(3)} s | ${r.gdb.toFixed(3)} s | ${(r.gdb / r.own).toFixed(2)}× | ${(16 / r.gdb).toFixed(1)} |`);
}
