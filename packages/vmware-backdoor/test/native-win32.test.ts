import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isVmkdError } from '@vmkd/kd-protocol';
import { createNativeBackdoorPort, detectVmware, requireVmware } from '../src/index.js';
import { loadNative, probeInChildProcess, vendorFromCpuid } from '../src/internal.js';
import type { CpuidResult } from '../src/internal.js';

// The Win64 stubs executed, not just disassembled (vmware-backdoor spec §6.3): mapped from a
// VirtualAlloc'ed page, called through koffi with the Microsoft x64 convention.

const onWindowsX64 = process.platform === 'win32' && process.arch === 'x64';

const ascii = (...words: number[]): string => {
  const out = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => out.writeUInt32LE(w >>> 0, i * 4));
  return out.toString('latin1');
};
const brandOf = (leaves: CpuidResult[]): string =>
  leaves
    .map((r) => ascii(r.eax, r.ebx, r.ecx, r.edx))
    .join('')
    .replace(/\0+$/, '')
    .trim();

describe.runIf(onWindowsX64)('Win64 native stubs, executed (Windows)', async () => {
  const native = onWindowsX64 ? await loadNative() : undefined;
  const hypervisor = native !== undefined && (native.cpuid(1).ecx & 0x80000000) !== 0;
  const realVendor = native && hypervisor ? vendorFromCpuid(native.cpuid(0x40000000)) : '';
  const onVmware = realVendor === 'VMwareVMware';

  it('loads the Win64 stub set', () => {
    expect(native?.abi).toBe('win64');
  });

  it('the CPUID stub sees the processor Node sees: the same brand string as os.cpus(), and a vendor that names its maker', () => {
    const leaf0 = native!.cpuid(0);
    const vendor = ascii(leaf0.ebx, leaf0.edx, leaf0.ecx);
    expect(['GenuineIntel', 'AuthenticAMD', 'HygonGenuine']).toContain(vendor);
    expect(native!.cpuid(0x80000000).eax >>> 0).toBeGreaterThanOrEqual(0x80000004);
    const brand = brandOf([native!.cpuid(0x80000002), native!.cpuid(0x80000003), native!.cpuid(0x80000004)]);
    const nodeModel = cpus()[0]?.model.trim() ?? '';
    expect(brand).toBe(nodeModel);
    expect(nodeModel).toMatch(vendor === 'GenuineIntel' ? /Intel/ : vendor === 'AuthenticAMD' ? /AMD/ : /Hygon/);
  });

  it('the CPUID stub reads a subleaf (ECX in, all four registers out): leaf 7 subleaf 0 reports its own subleaf count', () => {
    // Leaf 4 (Intel) or leaf 7 subleaf 1 vs 0 differ: ECX really reaches the instruction.
    const max = native!.cpuid(0).eax;
    if (max < 7) return;
    const sub0 = native!.cpuid(7, 0);
    const sub1 = native!.cpuid(7, 1);
    expect(sub0).not.toEqual(sub1);
    expect(native!.cpuid(7, 0)).toEqual(sub0);
  });

  it.skipIf(onVmware)('detectVmware() says not VMware, with the hypervisor vendor the stub reads, and runs no port I/O', async () => {
    const detection = await detectVmware();
    expect(detection).toMatchObject({ isVmware: false, vendor: realVendor, hypervisorPresent: hypervisor });
    expect(detection.reason).toBe(hypervisor ? 'vendor' : 'no-hypervisor');
  });

  it.skipIf(onVmware)('requireVmware() and createNativeBackdoorPort() refuse with ERR_BACKDOOR_NOT_VMWARE', async () => {
    for (const attempt of [requireVmware(), createNativeBackdoorPort()]) {
      const error: unknown = await attempt.then(() => undefined, (e: unknown) => e);
      expect(isVmkdError(error, 'ERR_BACKDOOR_NOT_VMWARE')).toBe(true);
    }
  });

  it.skipIf(onVmware)("the backdoor I/O stub faults off VMware: the child probe dies of STATUS_PRIVILEGED_INSTRUCTION and we survive to say so", async () => {
    const result = await probeInChildProcess({ timeoutMs: 60_000 });
    expect(result).toMatchObject({ isVmware: false, fault: 'STATUS_PRIVILEGED_INSTRUCTION' });
    expect(result.signal).toBeUndefined();
  });
});
