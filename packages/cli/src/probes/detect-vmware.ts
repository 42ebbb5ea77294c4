import { probePath, runNodeProbe } from './run-probe.js';

export interface VmwareDetection {
  readonly vmware: boolean;
  /** Why (or how) — "CPUID hypervisor bit clear", "GETVERSION answered, version 6", … */
  readonly detail: string;
}

/**
 * Asks @vmkd/vmware-backdoor's safe detection (CPUID first, port I/O only after VMware said
 * "me") in a child process, so even an unexpected fault cannot take the caller down.
 */
export async function detectVmwareInChild(): Promise<VmwareDetection> {
  const outcome = await runNodeProbe<VmwareDetection>([probePath('vmware-probe')]);
  return outcome.ok ? outcome.value : { vmware: false, detail: `detection could not run: ${outcome.reason}` };
}
