import { describe, expect, it } from 'vitest';
import { emulateCpuid } from './cpuid-emulation.js';

const real = (leaf: number, subleaf: number) => ({ eax: leaf, ebx: subleaf, ecx: 0x00000001, edx: 0xdead });
const vendor = (r: { ebx: number; ecx: number; edx: number }): string => {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(r.ebx, 0);
  b.writeUInt32LE(r.ecx, 4);
  b.writeUInt32LE(r.edx, 8);
  return b.toString('latin1').replace(/\0+$/, '');
};

describe('emulateCpuid', () => {
  it('sets the hypervisor bit on leaf 1 and passes other leaves through with their subleaf', () => {
    expect(emulateCpuid(1, 0, real).ecx).toBe(0x80000001);
    expect(emulateCpuid(7, 1, real)).toEqual({ eax: 7, ebx: 1, ecx: 1, edx: 0xdead });
  });

  it('answers the hypervisor range as VMware does', () => {
    const top = emulateCpuid(0x40000000, 0, real);
    expect(vendor(top)).toBe('VMwareVMware');
    expect(top.eax).toBe(0x40000010);
    expect(emulateCpuid(0x40000010, 0, real, { hypercall: 'vmcall', tscKhz: 2000000 })).toEqual({ eax: 2000000, ebx: 0, ecx: 2, edx: 0 });
    expect(emulateCpuid(0x40000010, 0, real, { hypercall: 'vmmcall' }).ecx).toBe(1);
    expect(emulateCpuid(0x40000003, 0, real)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(vendor(emulateCpuid(0x40000000, 0, real, { vendor: 'KVMKVMKVM' }))).toBe('KVMKVMKVM');
  });
});
