/**
 * The guest half of `sim://?via=kdrpc&backdoor=native`, run as a child under vmware-backdoor's
 * ptrace harness: the virtual kernel's TargetSession on a KDRPC guest link whose GuestRPC calls go
 * through vmkd's native x86-64 backdoor stubs. Each backdoor instruction traps into the harness in
 * the parent, which answers it from an emulated VMX. Prints `ready <stub form> <data base> <data
 * size>` (hex) once serving.
 *
 * Arguments: <build> <memory bytes> <cpus> <DbgPrint interval ms | -> <RAM file | ->.
 */
import { createTargetSession } from '@vmkd/kd-protocol';
import { createKdrpcGuestStack, createNativeBackdoorPort } from '@vmkd/vmware-backdoor';
import { createSimBackend } from './sim-setup.js';

const [build = 'win10', memory = String(256 * 1024 * 1024), cpus = '1', prints = '-', ram = '-'] = process.argv.slice(2);
const backend = createSimBackend(
  { build, memory: Number(memory), cpus: Number(cpus), ...(ram === '-' ? {} : { ramFile: ram }) },
  prints === '-' ? {} : { printIntervalMs: Number(prints) },
);
// Nothing else holds this process up: the guest link sleeps between polls on unref'd timers and
// each backdoor call is a synchronous trapped instruction, so without this handle Node exits (0)
// the first time every timer is asleep, seconds after `ready`. A kernel runs until it is stopped:
// the harness kills this process when the route closes.
setInterval(() => undefined, 0x7fffffff);
const port = await createNativeBackdoorPort();
const stack = createKdrpcGuestStack({ port });
createTargetSession(stack.link, backend);
const region = backend.layout.dataRegion;
process.stdout.write(`ready ${port.form} ${region.virtualBase.toString(16)} ${region.size.toString(16)}\n`);
