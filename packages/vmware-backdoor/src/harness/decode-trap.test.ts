import { describe, expect, it } from 'vitest';
import { BDOOR_MAGIC } from '../abi.js';
import { decodeTrap, SIGILL, SIGSEGV, SI_KERNEL } from './decode-trap.js';

const at = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

describe('decodeTrap', () => {
  it('classifies the I/O forms only with the magic and the right port', () => {
    expect(decodeTrap(SIGSEGV, SI_KERNEL, at(0xed, 0x90), BDOOR_MAGIC, 0x5658)).toMatchObject({ kind: 'lb', length: 1, mnemonic: 'in' });
    expect(decodeTrap(SIGSEGV, SI_KERNEL, at(0xef), BDOOR_MAGIC, 0x00075658)).toMatchObject({ kind: 'lb', mnemonic: 'out' });
    expect(decodeTrap(SIGSEGV, SI_KERNEL, at(0xf3, 0x6e), BDOOR_MAGIC, 0x00035659)).toMatchObject({ kind: 'hb-out', length: 2 });
    expect(decodeTrap(SIGSEGV, SI_KERNEL, at(0xf3, 0x6c), BDOOR_MAGIC, 0x5659)).toMatchObject({ kind: 'hb-in', length: 2 });
    expect(decodeTrap(SIGSEGV, SI_KERNEL, at(0xed), 0x12345678, 0x5658)).toBeUndefined();
    expect(decodeTrap(SIGSEGV, SI_KERNEL, at(0xed), BDOOR_MAGIC, 0x5659)).toBeUndefined();
    expect(decodeTrap(SIGSEGV, SI_KERNEL, at(0xf3, 0x6e), BDOOR_MAGIC, 0x5658)).toBeUndefined();
    expect(decodeTrap(SIGSEGV, 1 /* SEGV_MAPERR */, at(0xed), BDOOR_MAGIC, 0x5658)).toBeUndefined();
  });

  it('classifies a faulting CPUID whatever the registers', () => {
    expect(decodeTrap(SIGSEGV, SI_KERNEL, at(0x0f, 0xa2), 0, 0)).toMatchObject({ kind: 'cpuid', length: 2 });
  });

  it('classifies VMCALL/VMMCALL (#UD) by the DX flags', () => {
    expect(decodeTrap(SIGILL, 2, at(0x0f, 0x01, 0xc1), BDOOR_MAGIC, 0)).toMatchObject({ kind: 'lb', length: 3, mnemonic: 'vmcall' });
    expect(decodeTrap(SIGILL, 2, at(0x0f, 0x01, 0xd9), BDOOR_MAGIC, 0x00020003)).toMatchObject({ kind: 'hb-out', mnemonic: 'vmmcall' });
    expect(decodeTrap(SIGILL, 2, at(0x0f, 0x01, 0xc1), BDOOR_MAGIC, 1)).toMatchObject({ kind: 'hb-in' });
    expect(decodeTrap(SIGILL, 2, at(0x0f, 0x01, 0xc1), BDOOR_MAGIC, 2)).toBeUndefined();
    expect(decodeTrap(SIGILL, 2, at(0x0f, 0x0b), BDOOR_MAGIC, 0)).toBeUndefined();
  });
});
