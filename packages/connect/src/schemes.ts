import { pipeEndpointScheme, tcpEndpointScheme, unixEndpointScheme } from '@vmkd/dbgeng-pipe';
import { gdbEndpointScheme } from '@vmkd/gdb-remote';
import { kdnetEndpointScheme, kdnetGuestScheme, kdnetSimVariant } from '@vmkd/kdnet';
import { serialDeviceGuestScheme, serialPipeGuestScheme, serialTcpGuestScheme, serialUnixGuestScheme } from '@vmkd/serial-fallback';
import { memoryGuestOption } from '@vmkd/vmm-memory';
import { kdrpcProxyPipeGuestScheme, kdrpcProxyUnixGuestScheme } from '@vmkd/vmware-backdoor';
import { createSchemeRegistry, type SchemeRegistry } from './registry.js';
import { simKdrpcVariant } from './sim/kdrpc-variant.js';
import { createSimGuestScheme } from './sim/sim-scheme.js';
import { simSerialVariant } from './sim/serial-variant.js';

/**
 * Every scheme vmkd knows, one registration line each, in the order help text lists them. A new
 * transport or endpoint package exports its provider; adding it here is the whole wiring
 * (docs/adding-a-scheme.md).
 */
export function createDefaultRegistry(): SchemeRegistry {
  const registry = createSchemeRegistry()
    // Guests: where a kernel's debug traffic comes from.
    .guest(serialTcpGuestScheme)
    .guest(serialUnixGuestScheme)
    .guest(serialPipeGuestScheme)
    .guest(serialDeviceGuestScheme)
    .guest(kdrpcProxyPipeGuestScheme)
    .guest(kdrpcProxyUnixGuestScheme)
    .guest(kdnetGuestScheme)
    // The embedded virtual kernel, and the ways to reach it (`sim://?via=`).
    .simVariant(simSerialVariant)
    .simVariant(simKdrpcVariant)
    .simVariant(kdnetSimVariant)
    // Endpoints: where debuggers attach.
    .endpoint(pipeEndpointScheme)
    .endpoint(unixEndpointScheme)
    .endpoint(tcpEndpointScheme)
    .endpoint(kdnetEndpointScheme)
    .endpoint(gdbEndpointScheme);
  // Guest options: `?memory=…` puts the memory fast path in front of any guest but sim (whose RAM file is `ram=`).
  registry.guestOption(memoryGuestOption);
  return registry.guest(createSimGuestScheme(registry.simVariants));
}

/** The registry `openGuest`, `openEndpoint` and `connectDebugger` use unless given another. */
export const defaultRegistry: SchemeRegistry = createDefaultRegistry();
