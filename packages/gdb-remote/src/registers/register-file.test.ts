import { CpuContext } from '@vmkd/kd-protocol';
import { describe, expect, it } from 'vitest';
import { REGISTERS, REGISTER_INDEX, registerBytes } from './register-map.js';
import { allRegistersHex, fullTagWord, registerHex, splitAllRegisters, writeRegister, type RegisterFile } from './register-file.js';
import { TARGET_XML } from './target-xml.js';

function sample(): RegisterFile {
  const context = new CpuContext('amd64');
  context.set('rip', 0xfffff80000400110n).set('rsp', 0xfffffa800013dfb0n).set('eflags', 0x202).set('cs', 0x10).set('mxcsr', 0x1f80);
  const special = new Uint8Array(0xe0);
  new DataView(special.buffer).setBigUint64(0x10, 0x1ab000n, true); // cr3
  return { context, special, fsBase: undefined };
}

describe('registers', () => {
  it('serves g in target.xml order, with the unavailable FS base as xx', () => {
    const hex = allRegistersHex(sample());
    expect(hex.length).toBe(2 * REGISTERS.reduce((n, r) => n + registerBytes(r), 0));
    expect(registerHex(sample(), REGISTER_INDEX.get('rip')!)).toBe('1001400000f8ffff');
    expect(registerHex(sample(), REGISTER_INDEX.get('cr3')!)).toBe('00b01a0000000000');
    expect(registerHex(sample(), REGISTER_INDEX.get('fs_base')!)).toBe('xx'.repeat(8));
    expect(registerHex(sample(), REGISTER_INDEX.get('cs')!)).toBe('10000000');
  });

  it('numbers every register in target.xml as in g', () => {
    REGISTERS.forEach((r, i) => expect(TARGET_XML).toContain(`<reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${i}"`));
    expect(TARGET_XML).toContain('<feature name="org.vmkd.windows.system">');
  });

  it('writes registers back into the part they came from; G round-trips', () => {
    const file = sample();
    expect(writeRegister(file, REGISTER_INDEX.get('rax')!, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe('context');
    expect(file.context.get('rax')).toBe(0x0807060504030201n);
    expect(writeRegister(file, REGISTER_INDEX.get('dr7')!, Uint8Array.of(1, 4, 0, 0, 0, 0, 0, 0))).toBe('special');
    expect(writeRegister(file, REGISTER_INDEX.get('rax')!, Uint8Array.of(1))).toBeUndefined();
    const all = Uint8Array.from(Buffer.from(allRegistersHex({ ...file, fsBase: 0n }), 'hex'));
    const parts = splitAllRegisters(all)!;
    const copy = sample();
    parts.forEach((p, i) => writeRegister(copy, i, p));
    expect(allRegistersHex({ ...copy, fsBase: 0n })).toBe(allRegistersHex({ ...file, fsBase: 0n }));
    expect(splitAllRegisters(all.subarray(1))).toBeUndefined();
  });

  it('turns the FXSAVE abridged tag into the x87 tag word (11 = empty)', () => {
    expect(fullTagWord(0)).toBe(0xffff);
    expect(fullTagWord(0x01)).toBe(0xfffc);
    expect(fullTagWord(0xff)).toBe(0);
  });
});
