import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isVmkdError } from '@vmkd/kd-protocol';
import { createNativeBackdoorPort, detectVmware, requireVmware } from '../src/index.js';
import { loadNative, probeInChildProcess, vendorFromCpuid } from '../src/internal.js';
import { nodeFixtureArgs } from './fixtures/harness-env.js';

const nativeHere = process.arch === 'x64' && process.platform === 'linux';

describe.runIf(nativeHere)('native stubs and detection on this (non-VMware) machine', async () => {
  const native = nativeHere ? await loadNative() : undefined;
  const realVendor = native && (native.cpuid(1).ecx & 0x80000000) !== 0 ? vendorFromCpuid(native.cpuid(0x40000000)) : '';
  const onVmware = realVendor === 'VMwareVMware';

  it('runs the CPUID stub: leaf 0 spells an x86 vendor', () => {
    const leaf0 = native!.cpuid(0);
    const vendor = Buffer.alloc(12);
    vendor.writeUInt32LE(leaf0.ebx, 0);
    vendor.writeUInt32LE(leaf0.edx, 4);
    vendor.writeUInt32LE(leaf0.ecx, 8);
    expect(['GenuineIntel', 'AuthenticAMD', 'HygonGenuine']).toContain(vendor.toString('latin1'));
    expect(leaf0.eax).toBeGreaterThanOrEqual(1);
  });

  it.skipIf(onVmware)('detectVmware() says not VMware, with the real vendor, and the process survives', async () => {
    const detection = await detectVmware();
    expect(detection.isVmware).toBe(false);
    expect(detection.vendor).toBe(realVendor);
    expect(detection.reason).toBe(detection.hypervisorPresent ? 'vendor' : 'no-hypervisor');
    expect(detection.version).toBeUndefined();
  });

  it.skipIf(onVmware)('requireVmware() and createNativeBackdoorPort() refuse with ERR_BACKDOOR_NOT_VMWARE', async () => {
    for (const attempt of [requireVmware(), createNativeBackdoorPort()]) {
      const error: unknown = await attempt.then(() => undefined, (e: unknown) => e);
      expect(isVmkdError(error, 'ERR_BACKDOOR_NOT_VMWARE')).toBe(true);
      expect((error as { details: { vendor: string } }).details.vendor).toBe(realVendor);
    }
  });

  it.skipIf(onVmware)('probeInChildProcess() survives the forced port access: the child dies of SIGSEGV, not us', async () => {
    const result = await probeInChildProcess({ timeoutMs: 15_000 });
    expect(result.isVmware).toBe(false);
    expect(result.signal).toBe('SIGSEGV');
  });
});

describe('lazy native loading', () => {
  it.runIf(nativeHere)('importing the package does not load koffi; loadNative() does', () => {
    const out = execFileSync(process.execPath, nodeFixtureArgs('lazy-import-child.ts'), { encoding: 'utf8', timeout: 20_000 });
    expect(out).toContain('after-import false');
    expect(out).toContain('after-loadNative true');
  });
});
