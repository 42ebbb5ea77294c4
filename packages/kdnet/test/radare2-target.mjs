// The target side of the radare2 test, run inside its network namespace: the virtual kernel
// behind vmkd's KDNET endpoint, poking radare2 at DEBUGGER from BIND. Writes vmkd's own read of
// the region radare2 dumps to WORK/expected.bin, then WORK/ready.
import { writeFileSync } from 'node:fs';
import { createKdcomLink, createMemoryBytePair, createTargetSession } from '@vmkd/kd-protocol';
import { route } from '@vmkd/router';
import { createSimTarget } from '@vmkd/sim-target';
import { createKdnetEndpointLink } from '@vmkd/kdnet';

// mode: `direct` (the TargetSession on the KDNET endpoint, as `vmkd sim --listen kdnet://…`) or
// `route` (the kernel behind a KDCOM line, routed to the KDNET endpoint, as `vmkd route`).
const [work, key, port, base, length, mode] = process.argv.slice(2);
const sim = createSimTarget({ cpus: 1, printIntervalMs: 0 });
writeFileSync(`${work}/expected.bin`, sim.readVirtual(BigInt(base), Number(length), 0));
const link = await createKdnetEndpointLink({
  key,
  debugger: { address: '10.9.0.1', port: Number(port) },
  bind: { address: '10.9.0.2', port: Number(port) },
  allowRemote: true,
  pokeIntervalMs: 500,
});
// radare2 refuses replies over 2048 payload bytes (kd-protocol.md 1.12).
if (mode === 'route') {
  const [targetEnd, guestEnd] = createMemoryBytePair({ names: ['sim:target', 'sim:line'] });
  createTargetSession(createKdcomLink(targetEnd, { role: 'debugger-facing' }), sim, { maxReplyPayload: 2048 });
  route(createKdcomLink(guestEnd, { role: 'target-facing' }), link);
} else {
  createTargetSession(link, sim, { maxReplyPayload: 2048 });
}
link.events$.subscribe((e) => console.log('link', e.kind));
writeFileSync(`${work}/ready`, '');
setInterval(() => console.log(JSON.stringify(link.kdnetStats())), 5000).unref();
await new Promise(() => undefined);
