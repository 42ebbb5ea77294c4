/**
 * The target half of the `serial-unix-2proc` cells, in its own process as a VM is: the virtual
 * kernel's TargetSession on a KDCOM "serial port" served on a Unix socket (argv[2], the path;
 * argv[3], the sim's memory size). Prints `ready <data base> <data size>` (hex) once listening.
 */
import { createTargetSession } from '@vmkd/kd-protocol';
import { createSerialTargetLink } from '@vmkd/serial-fallback';
import { createSimTarget } from '@vmkd/sim-target';
import { exitWithParent } from './ready-child.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: serial-guest-child <socket path> [memory size]');
const memorySize = Number(process.argv[3] ?? String(256 * 1024 * 1024));
const sim = createSimTarget({ memorySize, printIntervalMs: 0 });
const link = await createSerialTargetLink({ listen: { kind: 'unix', path }, name: 'sim:com1' });
const session = createTargetSession(link, sim);
exitWithParent(async () => {
  await session.close();
  await link.close();
  sim.close();
});
const region = sim.layout.dataRegion;
process.stdout.write(`ready ${region.virtualBase.toString(16)} ${region.size.toString(16)}\n`);
