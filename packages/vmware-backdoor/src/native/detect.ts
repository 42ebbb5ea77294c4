import {
  BDOOR_MAGIC,
  BDOOR_PORT,
  BackdoorCommand,
  CPUID_HYPERVISOR_BIT,
  CPUID_VMW_FEATURES_ECX_VMCALL,
  CPUID_VMW_FEATURES_ECX_VMMCALL,
  CPUID_VMW_FEATURES_LEAF,
  CPUID_VMW_VENDOR_LEAF,
  VMW_VENDOR_STRING,
} from '../abi.js';
import { BackdoorNativeErrorCode, nativeError } from './errors.js';
import { createRegisterBlock, loadNative } from './load-native.js';
import type { CpuidResult, NativeStubs } from './load-native.js';
import { RegisterSlot } from './stubs.js';

/** How the backdoor is reached: port I/O, or the hypercall form (§2.4). */
export type BackdoorForm = 'io' | 'vmcall' | 'vmmcall';

export interface VmwareDetection {
  readonly isVmware: boolean;
  /** CPUID.1:ECX[31]. */
  readonly hypervisorPresent: boolean;
  /** The 12-byte vendor of leaf 0x40000000 (NULs stripped), '' without a hypervisor. */
  readonly vendor: string;
  /** EAX of leaf 0x40000000 (the highest hypervisor leaf), 0 without a hypervisor. */
  readonly maxHypervisorLeaf: number;
  /** The form leaf 0x40000010 advertises ('io' when it advertises none). */
  readonly form?: BackdoorForm;
  /** From GETVERSION, when it ran. */
  readonly version?: number;
  readonly productType?: number;
  /** Why `isVmware` is false. */
  readonly reason?: 'unsupported-platform' | 'no-hypervisor' | 'vendor' | 'getversion';
}

export interface DetectOptions {
  /**
   * Run GETVERSION through the I/O form even if CPUID does not say VMware (QEMU vmport, hidden
   * CPUID leaves). If the port traps this **kills the process**: prefer `probeInChildProcess()`.
   */
  readonly forceProbe?: boolean;
}

/** Splits CPUID leaf 0x40000000's EBX, ECX, EDX into the vendor string (NULs stripped). */
export function vendorFromCpuid(result: CpuidResult): string {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, result.ebx, true);
  view.setUint32(4, result.ecx, true);
  view.setUint32(8, result.edx, true);
  return String.fromCharCode(...bytes).replace(/\0+$/, '');
}

/**
 * Detection in the order of spec §5.1: the CPUID hypervisor bit, vendor "VMwareVMware", the
 * backdoor-interface leaf, and only then GETVERSION (EBX must echo the magic). No port I/O happens
 * before CPUID says VMware unless `forceProbe` asks for it, so a non-VMware machine gets a result
 * with `isVmware: false` and the vendor it found instead of a SIGSEGV.
 */
export async function detectVmware(options: DetectOptions = {}): Promise<VmwareDetection> {
  if (process.arch !== 'x64' || (process.platform !== 'linux' && process.platform !== 'win32')) {
    return { isVmware: false, hypervisorPresent: false, vendor: '', maxHypervisorLeaf: 0, reason: 'unsupported-platform' };
  }
  const native = await loadNative();
  return detectWith(native, options);
}

export function detectWith(native: NativeStubs, options: DetectOptions = {}): VmwareDetection {
  const hypervisorPresent = (native.cpuid(1).ecx & CPUID_HYPERVISOR_BIT) !== 0;
  let vendor = '';
  let maxHypervisorLeaf = 0;
  let form: BackdoorForm = 'io';
  if (hypervisorPresent) {
    const leaf = native.cpuid(CPUID_VMW_VENDOR_LEAF);
    vendor = vendorFromCpuid(leaf);
    maxHypervisorLeaf = leaf.eax;
  }
  const base = { hypervisorPresent, vendor, maxHypervisorLeaf };
  if (!options.forceProbe) {
    if (!hypervisorPresent) return { isVmware: false, ...base, reason: 'no-hypervisor' };
    if (vendor !== VMW_VENDOR_STRING) return { isVmware: false, ...base, reason: 'vendor' };
  }
  if (vendor === VMW_VENDOR_STRING && maxHypervisorLeaf >= CPUID_VMW_FEATURES_LEAF) {
    const features = native.cpuid(CPUID_VMW_FEATURES_LEAF).ecx;
    if (features & CPUID_VMW_FEATURES_ECX_VMCALL) form = 'vmcall';
    else if (features & CPUID_VMW_FEATURES_ECX_VMMCALL) form = 'vmmcall';
  }
  const version = getVersion(native, options.forceProbe ? 'io' : form);
  if (version.ebx !== BDOOR_MAGIC) return { isVmware: false, ...base, form, reason: 'getversion' };
  return { isVmware: true, ...base, form, version: version.eax, productType: version.ecx };
}

/** GETVERSION, with EBX deliberately not the magic so that an echo is a real answer. */
function getVersion(native: NativeStubs, form: BackdoorForm): CpuidResult {
  const block = createRegisterBlock();
  const b = block.u32;
  b[RegisterSlot.rax * 2] = BDOOR_MAGIC;
  b[RegisterSlot.rbx * 2] = ~BDOOR_MAGIC >>> 0;
  b[RegisterSlot.rcx * 2] = BackdoorCommand.GetVersion;
  b[RegisterSlot.rdx * 2] = form === 'io' ? BDOOR_PORT : 0;
  native.run(form === 'io' ? 'ioLb' : form, block);
  return { eax: b[RegisterSlot.rax * 2] ?? 0, ebx: b[RegisterSlot.rbx * 2] ?? 0, ecx: b[RegisterSlot.rcx * 2] ?? 0, edx: b[RegisterSlot.rdx * 2] ?? 0 };
}

/** Like `detectVmware()`, but throws `ERR_BACKDOOR_NOT_VMWARE` (with the vendor found) when it is not. */
export async function requireVmware(options: DetectOptions = {}): Promise<VmwareDetection & { readonly form: BackdoorForm }> {
  const detection = await detectVmware(options);
  if (!detection.isVmware || detection.form === undefined) {
    throw nativeError(
      BackdoorNativeErrorCode.NotVmware,
      `not a VMware guest (${describe(detection)})`,
      { vendor: detection.vendor, hypervisorPresent: detection.hypervisorPresent, reason: detection.reason },
    );
  }
  return detection as VmwareDetection & { readonly form: BackdoorForm };
}

function describe(d: VmwareDetection): string {
  switch (d.reason) {
    case 'no-hypervisor':
      return 'no hypervisor: CPUID.1:ECX[31] is clear';
    case 'vendor':
      return `hypervisor vendor is ${JSON.stringify(d.vendor)}, not "VMwareVMware"`;
    case 'getversion':
      return 'GETVERSION did not echo the magic';
    default:
      return `unsupported platform ${process.platform}/${process.arch}`;
  }
}
