import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SYSV_STUBS, WIN64_STUBS, stubBytes } from '../src/internal.js';
import type { StubListing, StubName } from '../src/internal.js';
import { hasCommand } from './fixtures/harness-env.js';

const dir = mkdtempSync(join(tmpdir(), 'vmkd-stubs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** objdump's view of raw bytes: one `[bytes, text]` row per instruction. */
function disassemble(bytes: Uint8Array): [number[], string][] {
  const file = join(dir, 'stub.bin');
  writeFileSync(file, bytes);
  const text = execFileSync('objdump', ['-D', '-b', 'binary', '-mi386:x86-64', '-M', 'intel', file], { encoding: 'utf8' });
  return text
    .split('\n')
    .filter((line) => /^\s+[0-9a-f]+:\t/.test(line))
    .map((line) => {
      const [, hex = '', asm = ''] = line.split('\t');
      return [hex.trim().split(/\s+/).map((b) => parseInt(b, 16)), asm.trim().replace(/\s+/g, ' ')];
    });
}

const names: StubName[] = ['ioLb', 'ioHbOut', 'ioHbIn', 'vmcall', 'vmmcall', 'cpuid'];
const backdoorInstruction: Record<Exclude<StubName, 'cpuid'>, string> = {
  ioLb: 'in eax,dx',
  ioHbOut: 'rep outs dx,BYTE PTR ds:[rsi]',
  ioHbIn: 'rep ins BYTE PTR es:[rdi],dx',
  vmcall: 'vmcall',
  vmmcall: 'vmmcall',
};
const asm = (listing: StubListing): string[] => listing.map(([, text]) => text);

describe.skipIf(!hasCommand('objdump'))('stub encodings (objdump)', () => {
  for (const [abi, set] of [['sysv', SYSV_STUBS], ['win64', WIN64_STUBS]] as const) {
    for (const name of names) {
      it(`${abi} ${name} disassembles to its listing`, () => {
        const listing = set[name];
        expect(disassemble(stubBytes(listing))).toEqual(listing.map(([bytes, text]) => [[...bytes], text]));
      });
    }
  }

  it('saves exactly the callee-saved registers each ABI requires, and restores them in reverse', () => {
    for (const name of names) {
      const sysv = asm(SYSV_STUBS[name]);
      const win = asm(WIN64_STUBS[name]);
      const pushes = (lines: string[]): string[] => lines.filter((l) => l.startsWith('push ')).map((l) => l.slice(5));
      const pops = (lines: string[]): string[] => lines.filter((l) => l.startsWith('pop ')).map((l) => l.slice(4));
      const expectedSysv = name === 'cpuid' ? ['rbx'] : ['rbx', 'rbp'];
      const expectedWin = name === 'cpuid' ? ['rbx'] : ['rbx', 'rbp', 'rsi', 'rdi'];
      expect(pushes(sysv)).toEqual(expectedSysv);
      expect(pops(sysv)).toEqual([...expectedSysv].reverse());
      expect(pushes(win)).toEqual(expectedWin);
      expect(pops(win)).toEqual([...expectedWin].reverse());
      expect(sysv.at(-1)).toBe('ret');
      expect(win.at(-1)).toBe('ret');
    }
  });

  it('takes the block pointer from the ABI argument register into R10 before touching protocol registers', () => {
    for (const name of names) {
      const sysv = asm(SYSV_STUBS[name]).filter((l) => !l.startsWith('push'));
      const win = asm(WIN64_STUBS[name]).filter((l) => !l.startsWith('push'));
      expect(sysv[0]).toBe('mov r10,rdi');
      expect(win[0]).toBe('mov r10,rcx');
    }
  });

  it('loads all seven registers, runs CLD and the backdoor instruction, and stores all seven back', () => {
    for (const set of [SYSV_STUBS, WIN64_STUBS]) {
      for (const name of names.filter((n): n is Exclude<StubName, 'cpuid'> => n !== 'cpuid')) {
        const lines = asm(set[name]);
        const at = lines.indexOf(backdoorInstruction[name]);
        expect(at).toBeGreaterThan(0);
        expect(lines[at - 1]).toBe('cld');
        const regs = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp'];
        const offset = (i: number): string => (i === 0 ? '[r10]' : `[r10+0x${(i * 8).toString(16)}]`);
        expect(lines.slice(at - 8, at - 1)).toEqual(regs.map((r, i) => `mov ${r},QWORD PTR ${offset(i)}`));
        expect(lines.slice(at + 1, at + 8)).toEqual(regs.map((r, i) => `mov QWORD PTR ${offset(i)},${r}`));
      }
    }
  });
});
