/**
 * A route in a process of its own, as `vmkd route GUEST ENDPOINT` runs one: opens the guest URI
 * (argv[2]) and the endpoint URI (argv[3]) through `@vmkd/connect` and routes between them. Prints
 * `ready ADDRESS GUEST-PID DATA-BASE DATA-SIZE` (GUEST-PID `-` when the virtual kernel runs in this
 * process) so the bench can attach its debugger and read each process's peak RSS.
 */
import { createDefaultRegistry, openEndpoint, openGuest } from '@vmkd/connect';
import { exitWithParent } from '@vmkd/connect/internal';
import { route } from '@vmkd/router';

const [guestUri, endpointUri] = process.argv.slice(2);
if (guestUri === undefined || endpointUri === undefined) throw new Error('usage: route-child GUEST-URI ENDPOINT-URI');
const registry = createDefaultRegistry();
const guest = await openGuest(guestUri, { registry });
const endpoint = await openEndpoint(endpointUri, { registry });
const r = route(guest.link, endpoint.link, { closeLinks: false });
exitWithParent(async () => {
  await r.close();
  await endpoint.close();
  await guest.close();
});
const sim = guest.sim;
process.stdout.write(
  `ready ${endpoint.address ?? endpointUri} ${sim?.childPid ?? '-'} ${sim === undefined ? '-' : `0x${sim.dataRegion.virtualBase.toString(16)}`} ${sim === undefined ? '-' : String(sim.dataRegion.size)}\n`,
);
