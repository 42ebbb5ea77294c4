import type { CpuContext } from '@vmkd/kd-protocol';
import { toHex } from '../rsp/hex.js';
import { FXSAVE_OFFSET, REGISTERS, registerBytes, type RegisterDef } from './register-map.js';

/**
 * One CPU's registers as read at a stop: the CONTEXT (GetContext), KSPECIAL_REGISTERS (control
 * space 2) and the FS base MSR. A part the target would not give is `undefined` and its registers
 * go out as `xx` bytes, which gdb shows as `<unavailable>` (gdb manual, `g` packet).
 */
export interface RegisterFile {
  readonly context: CpuContext;
  readonly special: Uint8Array | undefined;
  readonly fsBase: bigint | undefined;
}

export type RegisterPart = 'context' | 'special' | 'msr';

export function partOf(def: RegisterDef): RegisterPart {
  switch (def.source.kind) {
    case 'special':
      return 'special';
    case 'msr':
      return 'msr';
    default:
      return 'context';
  }
}

/** The register's bytes (little-endian, its full width), or undefined when unavailable. */
export function registerBytesOf(file: RegisterFile, def: RegisterDef): Uint8Array | undefined {
  const width = registerBytes(def);
  const out = new Uint8Array(width);
  const view = new DataView(out.buffer);
  const src = def.source;
  switch (src.kind) {
    case 'context': {
      const v = file.context.get(src.field);
      if (width === 8) view.setBigUint64(0, v, true);
      else view.setUint32(0, Number(v), true);
      return out;
    }
    case 'fxsave': {
      const at = FXSAVE_OFFSET + src.offset;
      // FXSAVE's 16- and 8-bit fields widen to gdb's 32-bit slots; STn and XMMn are copied.
      const size = def.name === 'fctrl' || def.name === 'fstat' || def.name === 'fop' || def.name.endsWith('seg') ? 2 : width;
      out.set(file.context.bytes.subarray(at, at + size));
      return out;
    }
    case 'ftag': {
      view.setUint32(0, fullTagWord(file.context.bytes[FXSAVE_OFFSET + 4]), true);
      return out;
    }
    case 'special':
      if (file.special === undefined) return undefined;
      out.set(file.special.subarray(src.offset, src.offset + 8));
      return out;
    case 'msr':
      if (file.fsBase === undefined) return undefined;
      view.setBigUint64(0, file.fsBase, true);
      return out;
  }
}

/**
 * FXSAVE stores an abridged tag (one bit per register: 1 = in use); gdb shows the x87 tag word
 * (two bits per register: 00 valid, 11 empty). In-use registers are reported valid.
 */
export function fullTagWord(abridged: number): number {
  let tag = 0;
  for (let i = 0; i < 8; i++) if ((abridged & (1 << i)) === 0) tag |= 3 << (2 * i);
  return tag;
}

function abridgedTag(full: number): number {
  let tag = 0;
  for (let i = 0; i < 8; i++) if (((full >> (2 * i)) & 3) !== 3) tag |= 1 << i;
  return tag;
}

/** The hex of one register for `p`, `xx…` if unavailable. */
export function registerHex(file: RegisterFile, index: number): string {
  const def = REGISTERS[index];
  const bytes = registerBytesOf(file, def);
  return bytes === undefined ? 'xx'.repeat(registerBytes(def)) : toHex(bytes);
}

/** The `g` reply: every register in regnum order. */
export function allRegistersHex(file: RegisterFile): string {
  let out = '';
  for (let i = 0; i < REGISTERS.length; i++) out += registerHex(file, i);
  return out;
}

/**
 * Writes one register's new bytes into the file (the CONTEXT bytes and the special-register block
 * are patched in place). Returns which part changed, so the caller writes that part back.
 */
export function writeRegister(file: RegisterFile, index: number, bytes: Uint8Array): RegisterPart | undefined {
  const def = REGISTERS[index];
  const width = registerBytes(def);
  if (bytes.length !== width) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const src = def.source;
  switch (src.kind) {
    case 'context': {
      const value = width === 8 ? view.getBigUint64(0, true) : BigInt(view.getUint32(0, true));
      // Segment selectors are 16 bits in the CONTEXT; gdb sends them in 32-bit slots.
      const fitted = src.field === 'eflags' || src.field === 'mxcsr' || width === 8 ? value : value & 0xffffn;
      file.context.set(src.field, fitted);
      return 'context';
    }
    case 'fxsave': {
      const at = FXSAVE_OFFSET + src.offset;
      const size = def.name === 'fctrl' || def.name === 'fstat' || def.name === 'fop' || def.name.endsWith('seg') ? 2 : width;
      file.context.bytes.set(bytes.subarray(0, size), at);
      return 'context';
    }
    case 'ftag':
      file.context.bytes[FXSAVE_OFFSET + 4] = abridgedTag(view.getUint32(0, true));
      return 'context';
    case 'special':
      if (file.special === undefined) return undefined;
      file.special.set(bytes, src.offset);
      return 'special';
    case 'msr':
      return 'msr';
  }
}

/** Splits a `G` body into per-register byte arrays; undefined if its length is not the `g` length. */
export function splitAllRegisters(bytes: Uint8Array): Uint8Array[] | undefined {
  const total = REGISTERS.reduce((n, d) => n + registerBytes(d), 0);
  if (bytes.length !== total) return undefined;
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const def of REGISTERS) {
    const n = registerBytes(def);
    parts.push(bytes.subarray(at, at + n));
    at += n;
  }
  return parts;
}
