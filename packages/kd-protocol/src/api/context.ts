import { VmkdError } from '../errors.js';
import { KdLimits } from './constants.js';
import { KdApiErrorCode } from './errors.js';
import { defineStruct, fieldAt, requireLength, viewOf, type FieldsOf } from './struct.js';

type RegisterSpec = { readonly offset: number; readonly width: 2 | 4 | 8 };

function table(entries: readonly (readonly [string, number, 2 | 4 | 8])[]): ReadonlyMap<string, RegisterSpec> {
  return new Map(entries.map(([name, offset, width]) => [name, { offset, width }]));
}

/**
 * AMD64 CONTEXT field offsets (1232 bytes, spec 2.6), by their winnt.h names. The one place these
 * numbers are written: the register table below, the simulator and the dump writer all use them.
 */
export const Amd64ContextOffset = {
  P1Home: 0x00,
  P2Home: 0x08,
  P3Home: 0x10,
  P4Home: 0x18,
  P5Home: 0x20,
  P6Home: 0x28,
  ContextFlags: 0x30,
  MxCsr: 0x34,
  SegCs: 0x38,
  SegDs: 0x3a,
  SegEs: 0x3c,
  SegFs: 0x3e,
  SegGs: 0x40,
  SegSs: 0x42,
  EFlags: 0x44,
  Dr0: 0x48,
  Dr1: 0x50,
  Dr2: 0x58,
  Dr3: 0x60,
  Dr6: 0x68,
  Dr7: 0x70,
  Rax: 0x78,
  Rcx: 0x80,
  Rdx: 0x88,
  Rbx: 0x90,
  Rsp: 0x98,
  Rbp: 0xa0,
  Rsi: 0xa8,
  Rdi: 0xb0,
  R8: 0xb8,
  R9: 0xc0,
  R10: 0xc8,
  R11: 0xd0,
  R12: 0xd8,
  R13: 0xe0,
  R14: 0xe8,
  R15: 0xf0,
  Rip: 0xf8,
  /** XMM_SAVE_AREA32 (FXSAVE layout): ControlWord +0, MxCsr +0x18, MxCsr_Mask +0x1c, Xmm0 +0xa0. */
  FltSave: 0x100,
  VectorRegister: 0x300,
  VectorControl: 0x4a0,
  DebugControl: 0x4a8,
  LastBranchToRip: 0x4b0,
  LastBranchFromRip: 0x4b8,
  LastExceptionToRip: 0x4c0,
  LastExceptionFromRip: 0x4c8,
} as const;

/** Where XMM0 starts inside the FXSAVE area (XMM_SAVE_AREA32.XmmRegisters). */
const FXSAVE_XMM0 = 0xa0;

const C = Amd64ContextOffset;

/** AMD64 CONTEXT registers by lower-case name (spec 2.6); the FXSAVE and vector areas are raw. */
export const AMD64_CONTEXT_REGISTERS = table([
  ['p1home', C.P1Home, 8],
  ['p2home', C.P2Home, 8],
  ['p3home', C.P3Home, 8],
  ['p4home', C.P4Home, 8],
  ['p5home', C.P5Home, 8],
  ['p6home', C.P6Home, 8],
  ['contextflags', C.ContextFlags, 4],
  ['mxcsr', C.MxCsr, 4],
  ['cs', C.SegCs, 2],
  ['ds', C.SegDs, 2],
  ['es', C.SegEs, 2],
  ['fs', C.SegFs, 2],
  ['gs', C.SegGs, 2],
  ['ss', C.SegSs, 2],
  ['eflags', C.EFlags, 4],
  ['dr0', C.Dr0, 8],
  ['dr1', C.Dr1, 8],
  ['dr2', C.Dr2, 8],
  ['dr3', C.Dr3, 8],
  ['dr6', C.Dr6, 8],
  ['dr7', C.Dr7, 8],
  ['rax', C.Rax, 8],
  ['rcx', C.Rcx, 8],
  ['rdx', C.Rdx, 8],
  ['rbx', C.Rbx, 8],
  ['rsp', C.Rsp, 8],
  ['rbp', C.Rbp, 8],
  ['rsi', C.Rsi, 8],
  ['rdi', C.Rdi, 8],
  ['r8', C.R8, 8],
  ['r9', C.R9, 8],
  ['r10', C.R10, 8],
  ['r11', C.R11, 8],
  ['r12', C.R12, 8],
  ['r13', C.R13, 8],
  ['r14', C.R14, 8],
  ['r15', C.R15, 8],
  ['rip', C.Rip, 8],
  ['vectorcontrol', C.VectorControl, 8],
  ['debugcontrol', C.DebugControl, 8],
  ['lastbranchtorip', C.LastBranchToRip, 8],
  ['lastbranchfromrip', C.LastBranchFromRip, 8],
  ['lastexceptiontorip', C.LastExceptionToRip, 8],
  ['lastexceptionfromrip', C.LastExceptionFromRip, 8],
]);

/** x86 CONTEXT field offsets (spec 2.6), by their winnt.h names; every field here is a u32. */
export const X86ContextOffset = {
  ContextFlags: 0x00,
  Dr0: 0x04,
  Dr1: 0x08,
  Dr2: 0x0c,
  Dr3: 0x10,
  Dr6: 0x14,
  Dr7: 0x18,
  SegGs: 0x8c,
  SegFs: 0x90,
  SegEs: 0x94,
  SegDs: 0x98,
  Edi: 0x9c,
  Esi: 0xa0,
  Ebx: 0xa4,
  Edx: 0xa8,
  Ecx: 0xac,
  Eax: 0xb0,
  Ebp: 0xb4,
  Eip: 0xb8,
  SegCs: 0xbc,
  EFlags: 0xc0,
  Esp: 0xc4,
  SegSs: 0xc8,
} as const;

const X = X86ContextOffset;

/** x86 CONTEXT registers by lower-case name (spec 2.6), all u32. */
export const X86_CONTEXT_REGISTERS = table(
  (
    [
      ['contextflags', X.ContextFlags],
      ['dr0', X.Dr0],
      ['dr1', X.Dr1],
      ['dr2', X.Dr2],
      ['dr3', X.Dr3],
      ['dr6', X.Dr6],
      ['dr7', X.Dr7],
      ['gs', X.SegGs],
      ['fs', X.SegFs],
      ['es', X.SegEs],
      ['ds', X.SegDs],
      ['edi', X.Edi],
      ['esi', X.Esi],
      ['ebx', X.Ebx],
      ['edx', X.Edx],
      ['ecx', X.Ecx],
      ['eax', X.Eax],
      ['ebp', X.Ebp],
      ['eip', X.Eip],
      ['cs', X.SegCs],
      ['eflags', X.EFlags],
      ['esp', X.Esp],
      ['ss', X.SegSs],
    ] as const
  ).map(([n, o]) => [n, o, 4] as const),
);

/** CONTEXT_* flags (AMD64 base 0x00100000; x86 base 0x00010000). */
export const ContextFlag = {
  Amd64: 0x00100000,
  X86: 0x00010000,
  Control: 0x1,
  Integer: 0x2,
  Segments: 0x4,
  FloatingPoint: 0x8,
  DebugRegisters: 0x10,
  ExtendedRegisters: 0x20,
  /** AMD64 CONTEXT_ALL as the spec uses it: 0x0010001F. */
  Amd64All: 0x0010001f,
} as const;

/**
 * A CONTEXT as raw bytes with named-register access. The bytes are the wire form, so what was
 * decoded is exactly what encodes back; `get`/`set` read and patch them in place.
 */
export class CpuContext {
  readonly bytes: Uint8Array;
  readonly arch: 'amd64' | 'x86';
  private readonly view: DataView;
  private readonly registers: ReadonlyMap<string, RegisterSpec>;

  constructor(arch: 'amd64' | 'x86', bytes?: Uint8Array) {
    const size = arch === 'amd64' ? KdLimits.Amd64ContextSize : KdLimits.X86ContextSize;
    if (bytes !== undefined && bytes.length !== size) {
      throw new VmkdError(KdApiErrorCode.BadSize, `${arch} CONTEXT must be ${size} bytes, got ${bytes.length}`, {
        details: { structure: `${arch.toUpperCase()} CONTEXT`, field: 'length', need: size, got: bytes.length },
      });
    }
    this.arch = arch;
    this.bytes = bytes ?? new Uint8Array(size);
    this.view = viewOf(this.bytes);
    this.registers = arch === 'amd64' ? AMD64_CONTEXT_REGISTERS : X86_CONTEXT_REGISTERS;
  }

  /** Register names this layout has. */
  names(): string[] {
    return [...this.registers.keys()];
  }

  private spec(name: string): RegisterSpec {
    const spec = this.registers.get(name.toLowerCase());
    if (spec === undefined) {
      throw new VmkdError(KdApiErrorCode.UnknownRegister, `${this.arch} CONTEXT has no register ${name}`, {
        details: { structure: `${this.arch.toUpperCase()} CONTEXT`, field: name },
      });
    }
    return spec;
  }

  /** A register's value as bigint (any width), e.g. `get('rip')`. */
  get(name: string): bigint {
    const { offset, width } = this.spec(name);
    if (width === 8) return this.view.getBigUint64(offset, true);
    return BigInt(width === 4 ? this.view.getUint32(offset, true) : this.view.getUint16(offset, true));
  }

  /** Sets a register; the value must fit its width. */
  set(name: string, value: bigint | number): this {
    const { offset, width } = this.spec(name);
    const v = BigInt(value);
    if (v < 0n || v >= 1n << BigInt(width * 8)) {
      throw new VmkdError(KdApiErrorCode.FieldRange, `${this.arch} CONTEXT.${name}: ${v} does not fit ${width} bytes`, {
        details: { structure: `${this.arch.toUpperCase()} CONTEXT`, field: name, value: `0x${v.toString(16)}` },
      });
    }
    if (width === 8) this.view.setBigUint64(offset, v, true);
    else if (width === 4) this.view.setUint32(offset, Number(v), true);
    else this.view.setUint16(offset, Number(v), true);
    return this;
  }

  /** All named registers as hex strings (for logs and JSON). */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of this.registers.keys()) out[name] = `0x${this.get(name).toString(16)}`;
    return out;
  }

  /** XMM register `n` (0–15) of the AMD64 FXSAVE area, as 16 bytes (a view). */
  xmm(n: number): Uint8Array {
    if (this.arch !== 'amd64' || !Number.isInteger(n) || n < 0 || n > 15) throw this.unknown(`xmm${n}`);
    const at = Amd64ContextOffset.FltSave + FXSAVE_XMM0 + 16 * n;
    return this.bytes.subarray(at, at + 16);
  }

  private unknown(name: string): VmkdError {
    return new VmkdError(KdApiErrorCode.UnknownRegister, `${this.arch} CONTEXT has no register ${name}`, {
      details: { structure: `${this.arch.toUpperCase()} CONTEXT`, field: name },
    });
  }
}

/** Decodes a CONTEXT (a copy of the bytes). */
export function decodeAmd64Context(bytes: Uint8Array): CpuContext {
  return new CpuContext('amd64', bytes.slice());
}

/** The wire bytes of a CONTEXT (a copy). */
export function encodeContext(context: CpuContext): Uint8Array {
  return context.bytes.slice();
}

/**
 * AMD64 KSPECIAL_REGISTERS field offsets (0xE0 bytes, control space offset 2; spec 2.6). `Gdtr` and
 * `Idtr` start with 3 × u16 padding, then Limit (u16, +6) and Base (u64, +8).
 */
export const Amd64SpecialRegisterOffset = {
  Cr0: 0x00,
  Cr2: 0x08,
  Cr3: 0x10,
  Cr4: 0x18,
  KernelDr0: 0x20,
  KernelDr1: 0x28,
  KernelDr2: 0x30,
  KernelDr3: 0x38,
  KernelDr6: 0x40,
  KernelDr7: 0x48,
  Gdtr: 0x50,
  Idtr: 0x60,
  Tr: 0x70,
  Ldtr: 0x72,
  MxCsr: 0x74,
  DebugControl: 0x78,
  LastBranchToRip: 0x80,
  LastBranchFromRip: 0x88,
  LastExceptionToRip: 0x90,
  LastExceptionFromRip: 0x98,
  Cr8: 0xa0,
  MsrGsBase: 0xa8,
  MsrGsSwap: 0xb0,
  MsrStar: 0xb8,
  MsrLStar: 0xc0,
  MsrCStar: 0xc8,
  MsrSyscallMask: 0xd0,
  Xcr0: 0xd8,
} as const;

/** Limit and Base inside a KDESCRIPTOR (after its 3 × u16 padding). */
const DESCRIPTOR_LIMIT = 6;
const DESCRIPTOR_BASE = 8;
const S = Amd64SpecialRegisterOffset;

const AMD64_SPECIAL_LAYOUT = {
  cr0: { offset: S.Cr0, type: 'u64' },
  cr2: { offset: S.Cr2, type: 'u64' },
  cr3: { offset: S.Cr3, type: 'u64' },
  cr4: { offset: S.Cr4, type: 'u64' },
  kernelDr0: { offset: S.KernelDr0, type: 'u64' },
  kernelDr1: { offset: S.KernelDr1, type: 'u64' },
  kernelDr2: { offset: S.KernelDr2, type: 'u64' },
  kernelDr3: { offset: S.KernelDr3, type: 'u64' },
  kernelDr6: { offset: S.KernelDr6, type: 'u64' },
  kernelDr7: { offset: S.KernelDr7, type: 'u64' },
  gdtrLimit: { offset: S.Gdtr + DESCRIPTOR_LIMIT, type: 'u16' },
  gdtrBase: { offset: S.Gdtr + DESCRIPTOR_BASE, type: 'u64' },
  idtrLimit: { offset: S.Idtr + DESCRIPTOR_LIMIT, type: 'u16' },
  idtrBase: { offset: S.Idtr + DESCRIPTOR_BASE, type: 'u64' },
  tr: { offset: S.Tr, type: 'u16' },
  ldtr: { offset: S.Ldtr, type: 'u16' },
  mxCsr: { offset: S.MxCsr, type: 'u32' },
  debugControl: { offset: S.DebugControl, type: 'u64' },
  lastBranchToRip: { offset: S.LastBranchToRip, type: 'u64' },
  lastBranchFromRip: { offset: S.LastBranchFromRip, type: 'u64' },
  lastExceptionToRip: { offset: S.LastExceptionToRip, type: 'u64' },
  lastExceptionFromRip: { offset: S.LastExceptionFromRip, type: 'u64' },
  cr8: { offset: S.Cr8, type: 'u64' },
  msrGsBase: { offset: S.MsrGsBase, type: 'u64' },
  msrGsSwap: { offset: S.MsrGsSwap, type: 'u64' },
  msrStar: { offset: S.MsrStar, type: 'u64' },
  msrLStar: { offset: S.MsrLStar, type: 'u64' },
  msrCStar: { offset: S.MsrCStar, type: 'u64' },
  msrSyscallMask: { offset: S.MsrSyscallMask, type: 'u64' },
  xcr0: { offset: S.Xcr0, type: 'u64' },
} as const;

/** AMD64 `KSPECIAL_REGISTERS` (0xE0 bytes, control space offset 2); the GDTR/IDTR padding stays in `unused`. */
export type Amd64SpecialRegisters = FieldsOf<typeof AMD64_SPECIAL_LAYOUT> & { unused: Uint8Array };

const specialCodec = defineStruct('KSPECIAL_REGISTERS', KdLimits.Amd64SpecialRegistersSize, AMD64_SPECIAL_LAYOUT);

export function decodeAmd64SpecialRegisters(bytes: Uint8Array): Amd64SpecialRegisters {
  requireLength(specialCodec.name, () => fieldAt(specialCodec.layout, bytes.length), bytes, specialCodec.size);
  return specialCodec.read(viewOf(bytes), bytes, 0);
}

export function encodeAmd64SpecialRegisters(value: Partial<Amd64SpecialRegisters>): Uint8Array {
  const out = new Uint8Array(specialCodec.size);
  specialCodec.write(viewOf(out), out, 0, value as Amd64SpecialRegisters);
  return out;
}
