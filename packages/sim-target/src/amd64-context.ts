/**
 * AMD64 CONTEXT (1232 bytes) and KSPECIAL_REGISTERS (0xE0 bytes) offsets, KD spec 2.6. The
 * simulator keeps each CPU's context inside its KPRCB.ProcessorState in simulated memory, so these
 * offsets are applied to views of that memory.
 */
export const CONTEXT_SIZE = 0x4d0;
export const SPECIAL_REGISTERS_SIZE = 0xe0;

/** CONTEXT_AMD64 | CONTROL | INTEGER | SEGMENTS | FLOATING_POINT | DEBUG_REGISTERS. */
export const CONTEXT_ALL = 0x0010001f;

export const ContextOffset = {
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
  /** XMM_SAVE_AREA32 (FXSAVE layout): ControlWord +0, MxCsr +0x18, MxCsr_Mask +0x1c. */
  FltSave: 0x100,
} as const;

export const SpecialRegisterOffset = {
  Cr0: 0x00,
  Cr2: 0x08,
  Cr3: 0x10,
  Cr4: 0x18,
  KernelDr0: 0x20,
  KernelDr6: 0x40,
  KernelDr7: 0x48,
  /** 3 × u16 padding, Limit u16, Base u64. */
  Gdtr: 0x50,
  Idtr: 0x60,
  Tr: 0x70,
  Ldtr: 0x72,
  MxCsr: 0x74,
  DebugControl: 0x78,
  Cr8: 0xa0,
  MsrGsBase: 0xa8,
  MsrGsSwap: 0xb0,
  MsrStar: 0xb8,
  MsrLStar: 0xc0,
  MsrCStar: 0xc8,
  MsrSyscallMask: 0xd0,
  Xcr0: 0xd8,
} as const;

/** Kernel selectors of x64 Windows (KGDT64_*): what a CPU stopped in kernel mode shows. */
export const Selector = { KernelCode: 0x10, KernelData: 0x18, UserData: 0x2b, UserCode: 0x33, CompatCode: 0x23, CompatTeb: 0x53, Tss: 0x40 } as const;

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
