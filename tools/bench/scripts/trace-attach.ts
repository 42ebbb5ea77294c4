/** Diagnoses attach through an endpoint: every link and route event with its time. Args: <endpoint URI> [kdrpc]. */
import { prepareDebuggerSide } from '../src/cells/debugger-side.js';
import { openBenchGuest } from '../src/cells/opened-guest.js';

const t0 = performance.now();
const at = (): string => (performance.now() - t0).toFixed(2).padStart(8);
const guest = await openBenchGuest(process.argv[3] === 'kdrpc' ? 'sim://?via=kdrpc&memory=64M&prints=0' : 'sim://?via=serial&line=unix&baud=0&memory=64M&prints=0');
guest.link.events$.subscribe((e) => console.log(at(), 'guest', e.kind, e.kind === 'packet' ? e.packet.type : ''));
const side = await prepareDebuggerSide(process.argv[2] ?? 'unix:{tmp}/kd.sock', guest.link);
side.route?.events$.subscribe((e) => console.log(at(), 'route', JSON.stringify(e).slice(0, 160)));
await new Promise((r) => setTimeout(r, 100));
console.log(at(), 'connect');
const dbg = await side.connect(5000);
const sc = await dbg.session.attach({ timeoutMs: 10000 });
console.log(at(), 'attached', sc.newState);
await dbg.close();
await side.close();
await guest.close();
