/**
 * Bench: 16 MiB (or --size-kib) read through gdb's `dump binary memory` (RSP `m` or `x` packets →
 * the endpoint's DebuggerSession → router → guest transport → virtual kernel) against the same
 * bytes read by vmkd's own DebuggerSession on the same route, and against gdb's own ceiling: the
 * same dump from an RSP server that answers every read instantly from memory
 * (bench/instant-rsp-server.ts). All three run against the same stopped kernel, interleaved run
 * by run. gdb's time is taken inside gdb (Python's clock around the dump), so its start-up is not
 * counted, and so is gdb's own CPU time for the dump (time.process_time()). The CPU time of this
 * process (sim, transport, router, endpoint) is taken around each read as well.
 *
 *   npm run bench -w @vmkd/cli            (or: node --import tsx --conditions=@vmkd/source bench/gdb-dump.bench.ts)
 *   … -- --via serial --runs 5 --packet-size 1ed00 --content zero --gdb /path/to/gdb-16
 *   … -- --via serial-115200 --size-kib 256 --content random     (a real COM port's pace)
 *
 * `--gdb` names the gdb to run (default `gdb` on PATH): gdb 13 (Debian 12) reads with hex `m`
 * packets, gdb 16 and later with binary `x` (half the characters to read); the instant stub
 * answers both, so each gdb's ceiling is its own.
 *
 * Prints one Markdown row per guest transport, memory content and PacketSize: medians of the
 * runs, the ratio gdb / own with its spread (lowest … highest of the runs), gdb's ceiling and the
 * two ratios that split the gap: gdb / ceiling (what the endpoint adds over an instant stub) and
 * ceiling / own (what gdb alone costs against vmkd's whole read: gdb / own can never be below it,
 * so at 2.0 or above no stub can meet a 2× target).
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSimRoute, type GuestVia } from '../test/gdb-remote/sim-route.js';
import { gdbDump, type GdbRun } from './gdb-dump-run.js';
import { openInstantRspServer } from './instant-rsp-server.js';


const { values: args } = parseArgs({
  options: {
    via: { type: 'string', multiple: true },
    runs: { type: 'string', default: '3' },
    'packet-size': { type: 'string', multiple: true },
    content: { type: 'string', multiple: true },
    gdb: { type: 'string', default: 'gdb' },
    'size-kib': { type: 'string', default: String(16 * 1024) },
  },
});
/** 16 MiB by default; a paced serial line (`--via serial-115200`) wants less (256 KiB take 23 s). */
const SIZE = Number(args['size-kib']) * 1024;
const GDB = args.gdb;
const RUNS = Number(args.runs);
const VIAS = (args.via ?? ['serial', 'kdrpc']) as GuestVia[];
// The default PacketSize: one `m` = sixteen full KD reads (0x3da0, two, was measured slower).
const PACKET_SIZES = (args['packet-size'] ?? ['1ed00']).map((h) => parseInt(h, 16));
/**
 * What the bytes hold: the virtual kernel's data (hash-like bytes, nothing to compress) and a
 * zeroed region (written first through the session), as much of a real kernel's memory is: the
 * endpoint run-length encodes it, so gdb has far fewer characters to read.
 */
type Content = 'random' | 'zero';
const CONTENTS = (args.content ?? ['random', 'zero']) as Content[];

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
};

interface Row {
  readonly via: GuestVia;
  readonly content: Content;
  readonly packetSize: number;
  readonly own: number;
  readonly ownCpu: number;
  readonly gdb: number;
  readonly gdbCpu: number;
  readonly endpointCpu: number;
  readonly ratios: readonly number[];
  readonly ceiling: number;
  readonly ceilingCpu: number;
}

async function cell(via: GuestVia, packetSize: number, content: Content): Promise<Row> {
  const r = await openSimRoute(via, { memorySize: 256 * 1024 * 1024, endpoint: { packetSize } });
  const file = join(tmpdir(), `vmkd-gdb-bench-${process.pid}.bin`);
  try {
    const session = r.endpoint.session;
    await session.attach();
    const base = r.sim.layout.dataRegion.virtualBase + 0x1000n;
    const buffer = new Uint8Array(SIZE);
    if (content === 'zero') {
      const w = await session.writeVirtual(base, buffer);
      if (w.bytesWritten !== SIZE) throw new Error(`zeroing stopped at ${w.bytesWritten}`);
    }
    const got = await session.readVirtualInto(base, buffer);
    if (got.bytesRead !== SIZE) throw new Error(`own read stopped at ${got.bytesRead}`);
    // gdb's ceiling: the same bytes from a server that answers at once (frames cached by an untimed first dump).
    const instant = await openInstantRspServer(buffer.slice(), base, packetSize);
    const own: number[] = [];
    const ownCpu: number[] = [];
    const gdb: GdbRun[] = [];
    const endpointCpu: number[] = [];
    const ceiling: GdbRun[] = [];
    try {
      await gdbDump(instant.port, base, SIZE, file, GDB);
      for (let i = 0; i < RUNS; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const again = await session.readVirtualInto(base, buffer);
        own.push((performance.now() - t0) / 1000);
        ownCpu.push(cpuSeconds(c0));
        if (again.bytesRead !== SIZE) throw new Error(`own read stopped at ${again.bytesRead}`);
        const c1 = process.cpuUsage();
        gdb.push(await gdbDump(r.endpoint.port, base, SIZE, file, GDB));
        endpointCpu.push(cpuSeconds(c1));
        if (Buffer.compare(readFileSync(file), buffer) !== 0) throw new Error('gdb dump differs from the own read');
        ceiling.push(await gdbDump(instant.port, base, SIZE, file, GDB));
        if (Buffer.compare(readFileSync(file), buffer) !== 0) throw new Error('gdb dump from the instant server differs from the own read');
      }
    } finally {
      await instant.close();
    }
    return {
      via,
      content,
      packetSize,
      own: median(own),
      ownCpu: median(ownCpu),
      gdb: median(gdb.map((g) => g.seconds)),
      gdbCpu: median(gdb.map((g) => g.gdbCpu)),
      endpointCpu: median(endpointCpu),
      ratios: gdb.map((g, i) => g.seconds / own[i]),
      ceiling: median(ceiling.map((g) => g.seconds)),
      ceilingCpu: median(ceiling.map((g) => g.gdbCpu)),
    };
  } finally {
    rmSync(file, { force: true });
    await r.close();
  }
}

const rows: Row[] = [];
for (const via of VIAS) for (const content of CONTENTS) for (const packetSize of PACKET_SIZES) rows.push(await cell(via, packetSize, content));
console.log(`${SIZE >= 1 << 20 ? `${SIZE / (1 << 20)} MiB` : `${SIZE / 1024} KiB`} read, median of ${RUNS} (${new Date().toISOString()}, node ${process.version})\n`);
console.log(`${execFileSync(GDB, ['--version'], { encoding: 'utf8' }).split('\n')[0]}\n`);
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs\n`);
console.log(
  "| route (guest → gdb://) | memory | PacketSize | DebuggerSession (CPU) | gdb `dump binary memory` | gdb / own (runs) | gdb's ceiling (instant stub) | gdb / ceiling | ceiling / own | gdb's CPU (at ceiling) | vmkd process CPU during gdb |",
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const spread = `${Math.min(...r.ratios).toFixed(1)}–${Math.max(...r.ratios).toFixed(1)}`;
  console.log(
    `| sim via ${r.via}${r.via === 'serial-115200' ? ' (paced' : ' (unpaced'}, in-process) | ${r.content} | 0x${r.packetSize.toString(16)} | ${r.own.toFixed(3)} s (${r.ownCpu.toFixed(2)} s) | ${r.gdb.toFixed(3)} s | ${(r.gdb / r.own).toFixed(2)}× (${spread}) | ${r.ceiling.toFixed(3)} s | ${(r.gdb / r.ceiling).toFixed(2)}× | ${(r.ceiling / r.own).toFixed(2)}× | ${r.gdbCpu.toFixed(2)} s (${r.ceilingCpu.toFixed(2)} s) | ${r.endpointCpu.toFixed(2)} s |`,
  );
}
