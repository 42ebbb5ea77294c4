import { describe, expect, it } from 'vitest';
import { parseGdbCommand } from './gdb-command.js';
import { formatStopReply, xferSlice } from './stop-reply.js';
import type { WaitStateChange } from '@vmkd/kd-protocol';

const parse = (text: string) => parseGdbCommand(Uint8Array.from(Buffer.from(text, 'latin1')));

describe('parseGdbCommand', () => {
  it('parses the memory, register and breakpoint packets', () => {
    expect(parse('mfffff80000000000,20')).toEqual({ kind: 'read-memory', address: 0xfffff80000000000n, length: 0x20 });
    expect(parse('xfffff80000000000,1ed00')).toEqual({ kind: 'read-memory-binary', address: 0xfffff80000000000n, length: 0x1ed00 });
    expect(parse('x0,0')).toEqual({ kind: 'read-memory-binary', address: 0n, length: 0 });
    expect(parse('M1000,2:cc90')).toEqual({ kind: 'write-memory', address: 0x1000n, data: Uint8Array.of(0xcc, 0x90) });
    expect(parse('X1000,2:\u0000#')).toEqual({ kind: 'write-memory', address: 0x1000n, data: Uint8Array.of(0, 0x23) });
    expect(parse('p10')).toEqual({ kind: 'read-register', regnum: 16 });
    expect(parse('P10=0010400000f8ffff')).toEqual({ kind: 'write-register', regnum: 16, data: Uint8Array.of(0, 0x10, 0x40, 0, 0, 0xf8, 0xff, 0xff) });
    expect(parse('Z0,fffff80000400110,1')).toEqual({ kind: 'insert-breakpoint', type: 0, address: 0xfffff80000400110n, size: 1 });
    expect(parse('z2,1000,8')).toEqual({ kind: 'remove-breakpoint', type: 2, address: 0x1000n, size: 8 });
    expect(parse('Z1,fffff80000400fea,1')).toEqual({ kind: 'insert-breakpoint', type: 1, address: 0xfffff80000400fean, size: 1 });
    expect(parse('qWatchpointSupportInfo:')).toEqual({ kind: 'watchpoint-info' });
  });

  it('parses execution and thread packets (thread n = CPU n − 1; -1 all, 0 any)', () => {
    expect(parse('vCont;s:2;c')).toEqual({ kind: 'vcont', actions: [{ action: 's', thread: 2 }, { action: 'c', thread: undefined }] });
    expect(parse('vCont;C05:1')).toEqual({ kind: 'vcont', actions: [{ action: 'c', thread: 1 }] });
    expect(parse('Hg-1')).toEqual({ kind: 'set-thread', op: 'g', thread: -1 });
    expect(parse('Hc0')).toEqual({ kind: 'set-thread', op: 'c', thread: 0 });
    expect(parse('c')).toEqual({ kind: 'continue', address: undefined });
    expect(parse('S05;1000')).toEqual({ kind: 'step', address: 0x1000n });
    expect(parse('qXfer:features:read:target.xml:0,ffb')).toEqual({ kind: 'xfer-read', object: 'features', annex: 'target.xml', offset: 0, length: 0xffb });
    expect(parse('qRcmd,6c6d')).toEqual({ kind: 'monitor', command: 'lm' });
  });

  it('answers malformed packets with `bad` (an E reply) and unknown ones with `unsupported` (the empty reply)', () => {
    for (const text of ['mzz,1', 'm1000', 'x1000', 'x1000,zz', 'M1000,4:cc', 'X1000,4:ab', 'Hx1', 'Z9,1,1', 'p', 'Pzz=00', 'vCont;q', 'qRcmd,zz', 'Gabc']) {
      expect(parse(text).kind, text).toBe('bad');
    }
    for (const text of ['', 'vMustReplyEmpty', 'qTStatus', '!', 'jThreadsInfo', 'qXfer:exec-file:read:x']) {
      expect(parse(text).kind, text).toBe('unsupported');
    }
  });
});

describe('stop replies and qXfer pieces', () => {
  const stop = { kind: 'exception', processor: 1, programCounter: 0xfffff80000400110n, exceptionCode: 0x80000003 } as unknown as WaitStateChange;

  it('name the CPU as the thread, the reason and the PC (register 0x10)', () => {
    expect(formatStopReply(stop, { interrupted: false, swbreak: true })).toBe('T05thread:2;swbreak:;10:1001400000f8ffff;');
    expect(formatStopReply(stop, { interrupted: true, swbreak: false })).toBe('T02thread:2;10:1001400000f8ffff;');
    expect(formatStopReply(stop, { interrupted: false, swbreak: false, watch: { kind: 'awatch', address: 0x1000n } })).toBe('T05thread:2;awatch:1000;10:1001400000f8ffff;');
    expect(formatStopReply(stop, { interrupted: false, swbreak: false, watch: { kind: 'rwatch', address: 0x1000n } })).toBe('T05thread:2;rwatch:1000;10:1001400000f8ffff;');
    expect(formatStopReply(stop, { interrupted: false, swbreak: false, hwbreak: true })).toBe('T05thread:2;hwbreak:;10:1001400000f8ffff;');
  });

  it('slices a document into m (more) and l (last) pieces', () => {
    const doc = Uint8Array.from(Buffer.from('abcdef'));
    expect(Buffer.from(xferSlice(doc, 0, 4)).toString()).toBe('mabcd');
    expect(Buffer.from(xferSlice(doc, 4, 4)).toString()).toBe('lef');
    expect(Buffer.from(xferSlice(doc, 6, 4)).toString()).toBe('l');
  });
});
