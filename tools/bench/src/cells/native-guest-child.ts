/**
 * The guest half of the `kdrpc-native` cell, run under vmware-backdoor's ptrace harness: the
 * virtual kernel's TargetSession on a KDRPC guest link whose GuestRPC calls go through vmkd's
 * native x86-64 backdoor stubs. Every `IN`/`REP OUTSB`/`REP INSB` traps into the harness, which
 * answers it from the emulated VMX in the parent. Prints `ready <data base> <data size>` (hex).
 */
import { createTargetSession } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import { createKdrpcGuestStack, createNativeBackdoorPort } from '@vmkd/vmware-backdoor';

const memorySize = Number(process.argv[2] ?? String(256 * 1024 * 1024));
const sim = createSimTarget({ memorySize, printIntervalMs: 0 });
const port = await createNativeBackdoorPort();
const stack = createKdrpcGuestStack({ port });
createTargetSession(stack.link, sim);
const region = sim.layout.dataRegion;
process.stdout.write(`ready ${region.virtualBase.toString(16)} ${region.size.toString(16)}\n`);
