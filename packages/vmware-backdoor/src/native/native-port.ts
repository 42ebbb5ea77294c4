import type { BackdoorPort, BackdoorRegs } from '../backdoor-port.js';
import { HYPERCALL_FLAG_HB, HYPERCALL_FLAG_WRITE } from '../abi.js';
import { requireVmware } from './detect.js';
import type { BackdoorForm } from './detect.js';
import { BackdoorNativeErrorCode, nativeError } from './errors.js';
import { createRegisterBlock, loadNative } from './load-native.js';
import type { NativeStubs, RegisterBlock } from './load-native.js';
import { RegisterSlot } from './stubs.js';

/** Largest single HB transfer the port accepts (GuestRPC needs 64 KiB each way; replies may be longer). */
export const NATIVE_HB_MAX_BYTES = 16 * 1024 * 1024;

export interface NativeBackdoorPortOptions {
  /** 'auto' (default) uses what detection found. */
  readonly form?: BackdoorForm | 'auto';
  /**
   * Skip detection and trust the caller (QEMU vmport, hidden CPUID leaves). Outside VMware the
   * first call then kills the process (§5.2).
   */
  readonly skipDetection?: boolean;
}

export interface NativeBackdoorPort extends BackdoorPort {
  readonly form: BackdoorForm;
}

/**
 * A `BackdoorPort` over the real machine-code stubs. Each call runs synchronously on the calling
 * thread (never `.async`: under the ptrace harness only traced threads may trap) and resolves at once.
 * Detection (`requireVmware()`) runs first unless `skipDetection` is set, so a non-VMware machine
 * gets `ERR_BACKDOOR_NOT_VMWARE` rather than a SIGSEGV.
 */
export async function createNativeBackdoorPort(options: NativeBackdoorPortOptions = {}): Promise<NativeBackdoorPort> {
  const requested = options.form ?? 'auto';
  let form: BackdoorForm = requested === 'auto' ? 'io' : requested;
  if (!options.skipDetection) {
    const detection = await requireVmware();
    if (requested === 'auto') form = detection.form;
  }
  const native = await loadNative();
  return createPortOn(native, form);
}

function createPortOn(native: NativeStubs, form: BackdoorForm): NativeBackdoorPort {
  const block = createRegisterBlock();
  // HB buffers live off the V8 heap so their address is stable while the stub runs.
  let scratch = Buffer.allocUnsafeSlow(4096);
  let scratchAddress = native.koffi.address(scratch);
  const ensureScratch = (length: number): void => {
    if (length > NATIVE_HB_MAX_BYTES) {
      throw nativeError(BackdoorNativeErrorCode.BadArgument, `HB transfer of ${length} bytes exceeds ${NATIVE_HB_MAX_BYTES}`, { length });
    }
    if (scratch.length < length) {
      scratch = Buffer.allocUnsafeSlow(Math.max(length, scratch.length * 2));
      scratchAddress = native.koffi.address(scratch);
    }
    scratch.fill(0, 0, length); // pre-fault the pages before the trap
  };
  const lbStub = form === 'io' ? 'ioLb' : form;
  const flagsFor = (kind: 'lb' | 'out' | 'in', edx: number): number => {
    if (form === 'io') return edx;
    const flags = kind === 'lb' ? 0 : kind === 'out' ? HYPERCALL_FLAG_HB | HYPERCALL_FLAG_WRITE : HYPERCALL_FLAG_HB;
    return ((edx & 0xffff0000) | flags) >>> 0;
  };
  const load = (regs: BackdoorRegs, edx: number): void => {
    block.u64.fill(0n);
    const b = block.u32;
    b[RegisterSlot.rax * 2] = u32(regs.eax, 'eax');
    b[RegisterSlot.rbx * 2] = u32(regs.ebx, 'ebx');
    b[RegisterSlot.rcx * 2] = u32(regs.ecx, 'ecx');
    b[RegisterSlot.rdx * 2] = edx;
    b[RegisterSlot.rsi * 2] = u32(regs.esi, 'esi');
    b[RegisterSlot.rdi * 2] = u32(regs.edi, 'edi');
    b[RegisterSlot.rbp * 2] = u32(regs.ebp ?? 0, 'ebp');
  };
  return {
    form,
    call(regs) {
      try {
        load(regs, flagsFor('lb', u32(regs.edx, 'edx')));
        native.run(lbStub, block);
        return Promise.resolve(read(block));
      } catch (error) {
        return Promise.reject(asError(error));
      }
    },
    hbOut(regs, data) {
      try {
        ensureScratch(data.length);
        scratch.set(data, 0);
        load(regs, flagsFor('out', u32(regs.edx, 'edx')));
        block.u64[RegisterSlot.rcx] = BigInt(data.length);
        block.u64[RegisterSlot.rsi] = scratchAddress;
        native.run(form === 'io' ? 'ioHbOut' : form, block);
        return Promise.resolve(read(block));
      } catch (error) {
        return Promise.reject(asError(error));
      }
    },
    hbIn(regs, length) {
      try {
        if (!Number.isSafeInteger(length) || length < 0) {
          throw nativeError(BackdoorNativeErrorCode.BadArgument, `bad HB length ${length}`, { length });
        }
        ensureScratch(length);
        load(regs, flagsFor('in', u32(regs.edx, 'edx')));
        block.u64[RegisterSlot.rcx] = BigInt(length);
        block.u64[RegisterSlot.rdi] = scratchAddress;
        native.run(form === 'io' ? 'ioHbIn' : form, block);
        return Promise.resolve({ regs: read(block), data: Uint8Array.prototype.slice.call(scratch, 0, length) });
      } catch (error) {
        return Promise.reject(asError(error));
      }
    },
  };
}

function read(block: RegisterBlock): BackdoorRegs {
  const b = block.u32;
  return {
    eax: b[RegisterSlot.rax * 2] ?? 0,
    ebx: b[RegisterSlot.rbx * 2] ?? 0,
    ecx: b[RegisterSlot.rcx * 2] ?? 0,
    edx: b[RegisterSlot.rdx * 2] ?? 0,
    esi: b[RegisterSlot.rsi * 2] ?? 0,
    edi: b[RegisterSlot.rdi * 2] ?? 0,
    ebp: b[RegisterSlot.rbp * 2] ?? 0,
  };
}

function u32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw nativeError(BackdoorNativeErrorCode.BadArgument, `register ${name} must be a u32, got ${value}`, { register: name, value });
  }
  return value;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
