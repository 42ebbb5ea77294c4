/** Diagnoses attach through the dbgeng-pipe endpoint: every link and route event with its time. */
import { createDebuggerSession } from '@vmkd/kd-protocol';
import { prepareDebuggerSide } from '../src/cells/debugger-side.js';
import { openKdrpcVmxGuest } from '../src/cells/kdrpc-guest.js';
import { openSerialGuest } from '../src/cells/serial-guest.js';

const t0 = performance.now();
const at = (): string => (performance.now() - t0).toFixed(2).padStart(8);
const guest = process.argv[3] === 'kdrpc' ? await openKdrpcVmxGuest({ memorySize: 64 * 1024 * 1024 }) : await openSerialGuest({ socket: 'unix', memorySize: 64 * 1024 * 1024 });
guest.link.events$.subscribe((e) => console.log(at(), 'guest', e.kind, e.kind === 'packet' ? e.packet.type : ''));
const side = await prepareDebuggerSide((process.argv[2] as 'routed-unix') ?? 'routed-unix', guest.link);
side.route?.events$.subscribe((e) => console.log(at(), 'route', JSON.stringify(e).slice(0, 160)));
await new Promise((r) => setTimeout(r, 100));
console.log(at(), 'connect');
const dbg = await side.connect();
dbg.link.events$.subscribe((e) => console.log(at(), 'debugger-link', e.kind, e.kind === 'packet' ? e.packet.type : ''));
const session = createDebuggerSession(dbg.link, { timeoutMs: 5000 });
const sc = await session.attach({ timeoutMs: 10000 });
console.log(at(), 'attached', sc.newState, 'breakins sent', dbg.link.stats().breakins);
await session.close();
await dbg.close();
await side.close();
await guest.close();
