/**
 * Child-process probe: is this a VMware guest? Uses @vmkd/vmware-backdoor's safe detection (CPUID
 * first; port I/O only once CPUID says VMware). Prints one JSON line `{ vmware, detail }`.
 */
import { detectVmware } from '@vmkd/vmware-backdoor';
import { describeDetection } from './describe-detection.js';

let result: { vmware: boolean; detail: string };
try {
  const detection = await detectVmware();
  result = { vmware: detection.isVmware, detail: describeDetection(detection) };
} catch (error) {
  result = { vmware: false, detail: `detection failed: ${error instanceof Error ? error.message : String(error)}` };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
