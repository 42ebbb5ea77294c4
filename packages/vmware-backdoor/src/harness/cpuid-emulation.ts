import { CPUID_HYPERVISOR_BIT, CPUID_VMW_FEATURES_ECX_VMCALL, CPUID_VMW_FEATURES_ECX_VMMCALL, CPUID_VMW_FEATURES_LEAF, CPUID_VMW_VENDOR_LEAF, VMW_VENDOR_STRING } from '../abi.js';

export interface CpuidRegs {
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
}

/** What the emulated CPU says about its hypervisor (what a VMware VM's CPUID shows). */
export interface HarnessCpuidOptions {
  /** Vendor of leaf 0x40000000; default "VMwareVMware". Anything else makes the tracee see a non-VMware hypervisor. */
  readonly vendor?: string;
  /** The hypercall form leaf 0x40000010 advertises; default 'none' (I/O ports). */
  readonly hypercall?: 'none' | 'vmcall' | 'vmmcall';
  /** Leaf 0x40000010 EAX/EBX (TSC and APIC-bus kHz); default 0. */
  readonly tscKhz?: number;
  readonly apicKhz?: number;
}

/**
 * The CPUID a tracee sees under the harness: the real CPU's leaves (`real`, executed in the tracer),
 * except that the hypervisor bit is set and the hypervisor range is VMware's: leaf 0x40000000 says
 * "VMwareVMware" with 0x40000010 as the highest leaf, 0x40000010 carries the backdoor-interface
 * bits, and the rest of the range is zero.
 */
export function emulateCpuid(leaf: number, subleaf: number, real: (leaf: number, subleaf: number) => CpuidRegs, options: HarnessCpuidOptions = {}): CpuidRegs {
  leaf >>>= 0;
  if (leaf === 1) {
    const r = real(leaf, subleaf);
    return { ...r, ecx: (r.ecx | CPUID_HYPERVISOR_BIT) >>> 0 };
  }
  if (leaf === CPUID_VMW_VENDOR_LEAF) {
    const v = Buffer.alloc(12);
    v.write((options.vendor ?? VMW_VENDOR_STRING).slice(0, 12), 'latin1');
    return { eax: CPUID_VMW_FEATURES_LEAF, ebx: v.readUInt32LE(0), ecx: v.readUInt32LE(4), edx: v.readUInt32LE(8) };
  }
  if (leaf === CPUID_VMW_FEATURES_LEAF) {
    const hypercall = options.hypercall ?? 'none';
    const ecx = hypercall === 'vmcall' ? CPUID_VMW_FEATURES_ECX_VMCALL : hypercall === 'vmmcall' ? CPUID_VMW_FEATURES_ECX_VMMCALL : 0;
    return { eax: (options.tscKhz ?? 0) >>> 0, ebx: (options.apicKhz ?? 0) >>> 0, ecx, edx: 0 };
  }
  if (leaf > CPUID_VMW_VENDOR_LEAF && leaf <= 0x400000ff) return { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  return real(leaf, subleaf);
}
