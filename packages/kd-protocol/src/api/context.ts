import { VmkdError } from '../errors.js';
import { KdLimits } from './constants.js';
import { KdApiErrorCode } from './errors.js';
import { defineStruct, fieldAt, requireLength, viewOf, type FieldsOf } from './struct.js';

type RegisterSpec = { readonly offset: number; readonly width: 2 | 4 | 8 };

function table(entries: readonly (readonly [string, number, 2 | 4 | 8])[]): ReadonlyMap<string, RegisterSpec> {
  return new Map(entries.map(([name, offset, width]) => [name, { offset, width }]));
}

/** AMD64 CONTEXT register offsets (spec 2.6). Names are lower case; the FXSAVE and vector areas are raw. */
export const AMD64_CONTEXT_REGISTERS = table([
  ['p1home', 0x00, 8],
  ['p2home', 0x08, 8],
  ['p3home', 0x10, 8],
  ['p4home', 0x18, 8],
  ['p5home', 0x20, 8],
  ['p6home', 0x28, 8],
  ['contextflags', 0x30, 4],
  ['mxcsr', 0x34, 4],
  ['cs', 0x38, 2],
  ['ds', 0x3a, 2],
  ['es', 0x3c, 2],
  ['fs', 0x3e, 2],
  ['gs', 0x40, 2],
  ['ss', 0x42, 2],
  ['eflags', 0x44, 4],
  ['dr0', 0x48, 8],
  ['dr1', 0x50, 8],
  ['dr2', 0x58, 8],
  ['dr3', 0x60, 8],
  ['dr6', 0x68, 8],
  ['dr7', 0x70, 8],
  ['rax', 0x78, 8],
  ['rcx', 0x80, 8],
  ['rdx', 0x88, 8],
  ['rbx', 0x90, 8],
  ['rsp', 0x98, 8],
  ['rbp', 0xa0, 8],
  ['rsi', 0xa8, 8],
  ['rdi', 0xb0, 8],
  ['r8', 0xb8, 8],
  ['r9', 0xc0, 8],
  ['r10', 0xc8, 8],
  ['r11', 0xd0, 8],
  ['r12', 0xd8, 8],
  ['r13', 0xe0, 8],
  ['r14', 0xe8, 8],
  ['r15', 0xf0, 8],
  ['rip', 0xf8, 8],
  ['vectorcontrol', 0x4a0, 8],
  ['debugcontrol', 0x4a8, 8],
  ['lastbranchtorip', 0x4b0, 8],
  ['lastbranchfromrip', 0x4b8, 8],
  ['lastexceptiontorip', 0x4c0, 8],
  ['lastexceptionfromrip', 0x4c8, 8],
]);

/** x86 CONTEXT register offsets (spec 2.6), all u32. */
export const X86_CONTEXT_REGISTERS = table(
  (
    [
      ['contextflags', 0x00],
      ['dr0', 0x04],
      ['dr1', 0x08],
      ['dr2', 0x0c],
      ['dr3', 0x10],
      ['dr6', 0x14],
      ['dr7', 0x18],
      ['gs', 0x8c],
      ['fs', 0x90],
      ['es', 0x94],
      ['ds', 0x98],
      ['edi', 0x9c],
      ['esi', 0xa0],
      ['ebx', 0xa4],
      ['edx', 0xa8],
      ['ecx', 0xac],
      ['eax', 0xb0],
      ['ebp', 0xb4],
      ['eip', 0xb8],
      ['cs', 0xbc],
      ['eflags', 0xc0],
      ['esp', 0xc4],
      ['ss', 0xc8],
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
    const at = 0x100 + 0xa0 + 16 * n;
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

const AMD64_SPECIAL_LAYOUT = {
  cr0: { offset: 0x00, type: 'u64' },
  cr2: { offset: 0x08, type: 'u64' },
  cr3: { offset: 0x10, type: 'u64' },
  cr4: { offset: 0x18, type: 'u64' },
  kernelDr0: { offset: 0x20, type: 'u64' },
  kernelDr1: { offset: 0x28, type: 'u64' },
  kernelDr2: { offset: 0x30, type: 'u64' },
  kernelDr3: { offset: 0x38, type: 'u64' },
  kernelDr6: { offset: 0x40, type: 'u64' },
  kernelDr7: { offset: 0x48, type: 'u64' },
  gdtrLimit: { offset: 0x56, type: 'u16' },
  gdtrBase: { offset: 0x58, type: 'u64' },
  idtrLimit: { offset: 0x66, type: 'u16' },
  idtrBase: { offset: 0x68, type: 'u64' },
  tr: { offset: 0x70, type: 'u16' },
  ldtr: { offset: 0x72, type: 'u16' },
  mxCsr: { offset: 0x74, type: 'u32' },
  debugControl: { offset: 0x78, type: 'u64' },
  lastBranchToRip: { offset: 0x80, type: 'u64' },
  lastBranchFromRip: { offset: 0x88, type: 'u64' },
  lastExceptionToRip: { offset: 0x90, type: 'u64' },
  lastExceptionFromRip: { offset: 0x98, type: 'u64' },
  cr8: { offset: 0xa0, type: 'u64' },
  msrGsBase: { offset: 0xa8, type: 'u64' },
  msrGsSwap: { offset: 0xb0, type: 'u64' },
  msrStar: { offset: 0xb8, type: 'u64' },
  msrLStar: { offset: 0xc0, type: 'u64' },
  msrCStar: { offset: 0xc8, type: 'u64' },
  msrSyscallMask: { offset: 0xd0, type: 'u64' },
  xcr0: { offset: 0xd8, type: 'u64' },
} as const;

/** AMD64 `KSPECIAL_REGISTERS` (0xE0 bytes, control space offset 2); the GDTR/IDTR padding stays in `unused`. */
export type Amd64SpecialRegisters = FieldsOf<typeof AMD64_SPECIAL_LAYOUT> & { unused: Uint8Array };

const specialCodec = defineStruct('KSPECIAL_REGISTERS', KdLimits.Amd64SpecialRegistersSize, AMD64_SPECIAL_LAYOUT);

export function decodeAmd64SpecialRegisters(bytes: Uint8Array): Amd64SpecialRegisters {
  requireLength(specialCodec.name, fieldAt(specialCodec.layout, bytes.length), bytes, specialCodec.size);
  return specialCodec.read(viewOf(bytes), bytes, 0);
}

export function encodeAmd64SpecialRegisters(value: Partial<Amd64SpecialRegisters>): Uint8Array {
  const out = new Uint8Array(specialCodec.size);
  specialCodec.write(viewOf(out), out, 0, value as Amd64SpecialRegisters);
  return out;
}
