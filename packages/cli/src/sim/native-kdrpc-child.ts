/**
 * The guest half of `sim://?via=kdrpc&backdoor=native`, run as a child under vmware-backdoor's
 * ptrace harness: the virtual kernel's TargetSession on a KDRPC guest link whose GuestRPC calls go
 * through vmkd's native x86-64 backdoor stubs. Each backdoor instruction traps into the harness in
 * the parent, which answers it from an emulated VMX. Prints `ready` once serving.
 *
 * Arguments: <build> <memory bytes> <cpus>.
 */
import { createTargetSession } from '@vmkd/kd-protocol';
import { createKdrpcGuestStack, createNativeBackdoorPort } from '@vmkd/vmware-backdoor';
import { createSimBackend } from './sim-backend.js';

const [build = 'win10', memory = String(256 * 1024 * 1024), cpus = '1'] = process.argv.slice(2);
const backend = createSimBackend({ build, memory: Number(memory), cpus: Number(cpus) });
const port = await createNativeBackdoorPort();
const stack = createKdrpcGuestStack({ port });
createTargetSession(stack.link, backend);
process.stdout.write(`ready ${port.form}\n`);
