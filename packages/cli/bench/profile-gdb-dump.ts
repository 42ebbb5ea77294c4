/**
 * Profiles this process (virtual kernel, guest transport, router, gdb endpoint) while gdb dumps
 * 16 MiB through the endpoint, and separately while vmkd's own DebuggerSession reads the same
 * 16 MiB: two .cpuprofile files taken with the inspector around exactly those phases.
 *
 *   node --import tsx --conditions=@vmkd/source bench/profile-gdb-dump.ts --via serial --out /tmp/prof
 *   node ../../tools/bench/scripts/profile-by-package.mjs /tmp/prof/gdb-serial.cpuprofile
 *
 * gdb's side is profiled from outside (perf record -p, or gdb's own CPU time in the bench).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { openSimRoute, type GuestVia } from '../test/gdb-remote/sim-route.js';

const SIZE = 16 * 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    via: { type: 'string', default: 'serial' },
    out: { type: 'string', default: join(tmpdir(), 'vmkd-gdb-profile') },
    'packet-size': { type: 'string', default: '1ed00' },
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
  const out = await profiled('gdb', () =>
    promisify(execFile)(
      'gdb',
      [
        '-batch',
        '-nx',
        '-ex',
        'set architecture i386:x86-64',
        '-ex',
        `target remote 127.0.0.1:${r.endpoint.port}`,
        '-ex',
        'python import time; vmkd_t0 = time.perf_counter(); vmkd_c0 = time.process_time()',
        '-ex',
        `dump binary memory ${file} 0x${base.toString(16)} 0x${(base + BigInt(SIZE)).toString(16)}`,
        '-ex',
        'python print("vmkd-elapsed %.6f %.6f" % (time.perf_counter() - vmkd_t0, time.process_time() - vmkd_c0))',
        '-ex',
        'kill',
      ],
      { encoding: 'utf8', timeout: 600_000 },
    ),
  );
  console.log(`gdb's own clock: ${/vmkd-elapsed [\d. ]+/.exec(out.stdout + out.stderr)?.[0] ?? '(none)'} (elapsed, gdb CPU)`);
} finally {
  rmSync(file, { force: true });
  await r.close();
  inspector.disconnect();
}
