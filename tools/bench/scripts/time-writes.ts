/** Times the write syscalls (Pipe#writeBuffer) of serial-unix/direct against the raw limit's. */
import { createDebuggerSession } from '@vmkd/kd-protocol';
import { measureRawLimit } from '../src/raw-limit.js';
import { openBenchGuest } from '../src/cells/opened-guest.js';

const Pipe = (process as unknown as { binding(n: string): { Pipe: { prototype: Record<string, (...a: unknown[]) => unknown> } } }).binding('pipe_wrap').Pipe;
const orig = Pipe.prototype['writeBuffer'];
let ns = 0n;
let calls = 0;
const sizes = new Map<number, number>();
Pipe.prototype['writeBuffer'] = function (this: unknown, ...args: unknown[]) {
  const t = process.hrtime.bigint();
  const r = orig.apply(this, args);
  ns += process.hrtime.bigint() - t;
  calls++;
  const len = (args[1] as Uint8Array).length;
  sizes.set(len, (sizes.get(len) ?? 0) + 1);
  return r;
};
const report = (what: string): void => {
  console.log(`${what}: ${calls} writes, ${(Number(ns) / calls / 1000).toFixed(2)} µs each`, [...sizes.entries()].slice(0, 6));
  ns = 0n;
  calls = 0;
  sizes.clear();
};
await measureRawLimit({ socket: 'unix', roundTrips: 20000 });
report('raw');
const guest = await openBenchGuest('sim://?via=serial&line=unix&baud=0&memory=64M&prints=0');
const session = createDebuggerSession(guest.link, { timeoutMs: 5000 });
await session.attach({ timeoutMs: 5000 });
const buf = new Uint8Array(3944 * 2000);
await session.readVirtualInto(guest.dataBase, buf);
ns = 0n;
calls = 0;
sizes.clear();
await session.readVirtualInto(guest.dataBase, buf);
await session.readVirtualInto(guest.dataBase, buf);
report('stack');
await session.close();
await guest.close();
