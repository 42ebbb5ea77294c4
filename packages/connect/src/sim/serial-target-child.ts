/**
 * The target half of `sim://?via=serial&line=unix&process=child`, in its own process as a VM is:
 * the virtual kernel's TargetSession on a KDCOM "serial port" served on a Unix socket or loopback
 * TCP. Prints `ready <address> <data base> <data size>` (hex) once listening; ends when the parent
 * closes its stdin.
 *
 * Arguments: <unix path | tcp> <build> <memory bytes> <cpus> <DbgPrint interval ms | -> <baud>
 * <RAM file | ->. The RAM file is written here, in the kernel's process, as a hypervisor's shared
 * guest RAM is; the parent opens it as the memory source.
 */
import { createTargetSession } from '@vmkd/kd-protocol';
import { createSerialTargetLink } from '@vmkd/serial-fallback';
import { exitWithParent } from '../child/ready-child.js';
import { createSimBackend } from './sim-setup.js';

const [where = 'tcp', build = 'win10', memory = String(256 * 1024 * 1024), cpus = '1', prints = '-', baud = '0', ram = '-'] = process.argv.slice(2);
const sim = createSimBackend(
  { build, memory: Number(memory), cpus: Number(cpus), ...(ram === '-' ? {} : { ramFile: ram }) },
  prints === '-' ? {} : { printIntervalMs: Number(prints) },
);
const pace = Number(baud) > 0 ? { pace: { baud: Number(baud) } } : {};
const listen = where === 'tcp' ? { kind: 'tcp' as const, port: 0, ...pace } : { kind: 'unix' as const, path: where, ...pace };
const link = await createSerialTargetLink({ listen, name: 'sim:com1' });
const session = createTargetSession(link, sim);
exitWithParent(async () => {
  await session.close();
  await link.close();
  sim.close();
});
const region = sim.layout.dataRegion;
process.stdout.write(`ready ${link.address} ${region.virtualBase.toString(16)} ${region.size.toString(16)}\n`);
