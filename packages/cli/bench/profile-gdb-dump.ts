/**
 * Profiles this process (virtual kernel, guest transport, router, gdb endpoint) while gdb dumps
 * 16 MiB through the endpoint, and separately while vmkd's own DebuggerSession reads the same
 * 16 MiB: two .cpuprofile files taken with the inspector around exactly those phases.
 *
 *   node --import tsx --conditions=@vmkd/source bench/profile-gdb-dump.ts --via serial --out /tmp/prof [--gdb gdb-16]
 *   node ../../tools/bench/scripts/profile-by-package.mjs /tmp/prof/gdb-serial.cpuprofile
 *
 * gdb's side is profiled from outside (perf record -p, or gdb's own CPU time in the bench).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openSimRoute, type GuestVia } from '../test/gdb-remote/sim-route.js';
import { gdbDump } from './gdb-dump-run.js';

const SIZE = 16 * 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    via: { type: 'string', default: 'serial' },
    out: { type: 'string', default: join(tmpdir(), 'vmkd-gdb-profile') },
    'packet-size': { type: 'string', default: '1ed00' },
    gdb: { type: 'string', default: 'gdb' },
  },
});
const via = args.via as GuestVia;
mkdirSync(args.out, { recursive: true });

const inspector = new Session();
inspector.connect();
await inspector.post('Profiler.enable');
await inspector.post('Profiler.setSamplingInterval', { interval: 200 });

async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  await inspector.post('Profiler.start');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const result = await run();
  const cpu = process.cpuUsage(c0);
  const seconds = (performance.now() - t0) / 1000;
  const { profile } = await inspector.post('Profiler.stop');
  const file = join(args.out, `${name}-${via}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`${name}: ${seconds.toFixed(3)} s elapsed, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU in this process → ${file}`);
  return result;
}

const r = await openSimRoute(via, { memorySize: 256 * 1024 * 1024, endpoint: { packetSize: parseInt(args['packet-size'], 16) } });
const file = join(tmpdir(), `vmkd-gdb-profile-${process.pid}.bin`);
try {
  const session = r.endpoint.session;
  await session.attach();
  const base = r.sim.layout.dataRegion.virtualBase + 0x1000n;
  const buffer = new Uint8Array(SIZE);
  await session.readVirtualInto(base, buffer); // warm-up
  await profiled('own', () => session.readVirtualInto(base, buffer));
  const run = await profiled('gdb', () => gdbDump(r.endpoint.port, base, SIZE, file, args.gdb));
  console.log(`gdb's own clock: ${run.seconds.toFixed(6)} s elapsed, ${run.gdbCpu.toFixed(6)} s gdb CPU`);
} finally {
  rmSync(file, { force: true });
  await r.close();
  inspector.disconnect();
}
