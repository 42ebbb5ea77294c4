/**
 * The x86-64 registers this endpoint serves, in remote-protocol order (regnum = index), and where
 * each lives on a Windows AMD64 target:
 *
 * - `context`: a field of the CONTEXT that GetContext/SetContext carry (KD spec 2.6);
 * - `fxsave`: a field of CONTEXT.FltSave, the XMM_SAVE_AREA32 at CONTEXT + 0x100 (the FXSAVE image);
 * - `special`: a field of KSPECIAL_REGISTERS, AMD64 control space offset 2 (KD spec 2.7), which is
 *   where a Windows kernel keeps CR0–CR4, CR8, the kernel's debug registers and the GS base MSR;
 * - `msr`: a model-specific register read with ReadMachineSpecificRegister.
 *
 * The grouping follows what gdb's amd64 target description checks by name (features
 * org.gnu.gdb.i386.core, .sse, .segments); the control and debug registers form a feature of
 * their own so `p $cr3` and `p $dr7` work without a tdesc gdb would have to know.
 */

export type RegisterSource =
  | { readonly kind: 'context'; readonly field: string }
  | { readonly kind: 'fxsave'; readonly offset: number }
  | { readonly kind: 'special'; readonly offset: number }
  | { readonly kind: 'msr'; readonly msr: number }
  /** gdb's 16-bit x87 tag word, derived from the FXSAVE abridged tag byte. */
  | { readonly kind: 'ftag' };

export interface RegisterDef {
  readonly name: string;
  readonly bits: number;
  readonly type: string;
  readonly feature: 'core' | 'sse' | 'segments' | 'system';
  readonly group?: string;
  readonly source: RegisterSource;
}

/** Offset of CONTEXT.FltSave (XMM_SAVE_AREA32) in the AMD64 CONTEXT. */
export const FXSAVE_OFFSET = 0x100;
/** The FS base MSR (IA32_FS_BASE); GS base comes from KSPECIAL_REGISTERS.MsrGsBase. */
export const MSR_FS_BASE = 0xc0000100;

const gpr = (name: string, type = 'int64'): RegisterDef => ({ name, bits: 64, type, feature: 'core', group: 'general', source: { kind: 'context', field: name } });
const seg = (name: string): RegisterDef => ({ name, bits: 32, type: 'int32', feature: 'core', group: 'general', source: { kind: 'context', field: name } });
const fx = (name: string, bits: number, offset: number, type: string, feature: 'core' | 'sse' = 'core', group = 'float'): RegisterDef => ({
  name,
  bits,
  type,
  feature,
  group,
  source: { kind: 'fxsave', offset },
});
/** KSPECIAL_REGISTERS offsets (kd-protocol's AMD64 special-register layout). */
const special = (name: string, offset: number, type = 'int64'): RegisterDef => ({ name, bits: 64, type, feature: 'system', group: 'system', source: { kind: 'special', offset } });

export const REGISTERS: readonly RegisterDef[] = [
  gpr('rax'),
  gpr('rbx'),
  gpr('rcx'),
  gpr('rdx'),
  gpr('rsi'),
  gpr('rdi'),
  gpr('rbp', 'data_ptr'),
  gpr('rsp', 'data_ptr'),
  ...Array.from({ length: 8 }, (_, i) => gpr(`r${i + 8}`)),
  gpr('rip', 'code_ptr'),
  { name: 'eflags', bits: 32, type: 'i386_eflags', feature: 'core', group: 'general', source: { kind: 'context', field: 'eflags' } },
  seg('cs'),
  seg('ss'),
  seg('ds'),
  seg('es'),
  seg('fs'),
  seg('gs'),
  // x87: FXSAVE keeps each STn in a 16-byte slot from offset 32; gdb's i387_ext is its 10 bytes.
  ...Array.from({ length: 8 }, (_, i) => fx(`st${i}`, 80, 32 + 16 * i, 'i387_ext')),
  fx('fctrl', 32, 0, 'int'),
  fx('fstat', 32, 2, 'int'),
  { name: 'ftag', bits: 32, type: 'int', feature: 'core', group: 'float', source: { kind: 'ftag' } },
  fx('fiseg', 32, 12, 'int'),
  fx('fioff', 32, 8, 'int'),
  fx('foseg', 32, 20, 'int'),
  fx('fooff', 32, 16, 'int'),
  fx('fop', 32, 6, 'int'),
  ...Array.from({ length: 16 }, (_, i) => fx(`xmm${i}`, 128, 160 + 16 * i, 'vec128', 'sse', 'vector')),
  { name: 'mxcsr', bits: 32, type: 'i386_mxcsr', feature: 'sse', group: 'vector', source: { kind: 'context', field: 'mxcsr' } },
  { name: 'fs_base', bits: 64, type: 'int', feature: 'segments', group: 'system', source: { kind: 'msr', msr: MSR_FS_BASE } },
  { name: 'gs_base', bits: 64, type: 'int', feature: 'segments', group: 'system', source: { kind: 'special', offset: 0xa8 } },
  special('cr0', 0x00),
  special('cr2', 0x08),
  special('cr3', 0x10),
  special('cr4', 0x18),
  special('cr8', 0xa0),
  special('dr0', 0x20),
  special('dr1', 0x28),
  special('dr2', 0x30),
  special('dr3', 0x38),
  special('dr6', 0x40),
  special('dr7', 0x48),
];

/** Width in bytes of a register's slot in `g`/`p` (x87 registers are 10 bytes). */
export function registerBytes(def: RegisterDef): number {
  return def.bits / 8;
}

export const REGISTER_INDEX: ReadonlyMap<string, number> = new Map(REGISTERS.map((r, i) => [r.name, i]));
