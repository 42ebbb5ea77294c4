import type { VmwareDetection } from '@vmkd/vmware-backdoor';

/** One human line for a detection result (doctor, rpc). */
export function describeDetection(d: VmwareDetection): string {
  if (d.isVmware) {
    return `backdoor via ${d.form ?? 'io'}, GETVERSION ${d.version ?? '?'}, product type ${d.productType ?? '?'}`;
  }
  switch (d.reason) {
    case 'no-hypervisor':
      return 'no hypervisor (CPUID.1:ECX[31] is clear)';
    case 'vendor':
      return `the hypervisor is ${JSON.stringify(d.vendor)}, not "VMwareVMware"`;
    case 'getversion':
      return 'CPUID says VMware but GETVERSION did not answer';
    default:
      return `no backdoor detection on ${process.platform}/${process.arch}`;
  }
}
