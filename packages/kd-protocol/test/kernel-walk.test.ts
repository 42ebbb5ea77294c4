import { describe, expect, it } from 'vitest';
import { AMD64_CONTEXT_REGISTERS, isVmkdError } from '../src/index.js';
import {
  Amd64ContextOffset,
  KDBG_OWNER_TAG,
  KdDebuggerDataOffset,
  KernelWalkErrorCode,
  KldrDataTableEntryOffset,
  readKdDebuggerData,
  sessionMemoryReader,
  walkActiveProcesses,
  walkListEntries,
  walkLoadedModules,
  type KernelMemoryReader,
} from '../src/kernel/index.js';

/** A sparse little-endian memory of 8-byte words and byte runs; reads of unwritten bytes are unreadable. */
class Memory {
  private readonly bytes = new Map<bigint, number>();
  u8(address: bigint, value: number): void {
    this.bytes.set(address, value & 0xff);
  }
  u16(address: bigint, value: number): void {
    for (let i = 0; i < 2; i++) this.u8(address + BigInt(i), value >> (8 * i));
  }
  u32(address: bigint, value: number): void {
    for (let i = 0; i < 4; i++) this.u8(address + BigInt(i), value >>> (8 * i));
  }
  u64(address: bigint, value: bigint): void {
    for (let i = 0; i < 8; i++) this.u8(address + BigInt(i), Number((value >> BigInt(8 * i)) & 0xffn));
  }
  fill(address: bigint, length: number): void {
    for (let i = 0; i < length; i++) if (!this.bytes.has(address + BigInt(i))) this.u8(address + BigInt(i), 0);
  }
  ascii(address: bigint, text: string, length: number): void {
    this.fill(address, length);
    [...text].forEach((c, i) => this.u8(address + BigInt(i), c.charCodeAt(0)));
  }
  /** A UNICODE_STRING at `at` whose text lives at `buffer`. */
  unicode(at: bigint, buffer: bigint, text: string): void {
    this.u16(at, text.length * 2);
    this.u16(at + 2n, text.length * 2 + 2);
    this.fill(at + 4n, 4);
    this.u64(at + 8n, buffer);
    [...text].forEach((c, i) => this.u16(buffer + BigInt(2 * i), c.charCodeAt(0)));
  }
  /** Links `head` and `entries` into a closed LIST_ENTRY64 ring. */
  ring(head: bigint, entries: readonly bigint[]): void {
    const all = [head, ...entries];
    all.forEach((e, i) => {
      this.u64(e, all[(i + 1) % all.length] ?? head);
      this.u64(e + 8n, all[(i + all.length - 1) % all.length] ?? head);
    });
  }
  readonly reads: [bigint, number][] = [];
  readonly read: KernelMemoryReader = (address, length) => {
    this.reads.push([address, length]);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const b = this.bytes.get(address + BigInt(i));
      if (b === undefined) return Promise.resolve(undefined);
      out[i] = b;
    }
    return Promise.resolve(out);
  };
}

const HEAD = 0x1000n;
const A = 0x2000n;
const B = 0x3000n;
const C = 0x4000n;

describe('walkListEntries', () => {
  it('follows Flinks back to the head', async () => {
    const m = new Memory();
    m.ring(HEAD, [A, B, C]);
    expect(await walkListEntries(m.read, HEAD)).toEqual({ entries: [A, B, C], end: 'closed' });
    expect(await walkListEntries(m.read, HEAD, { complete: true })).toEqual({ entries: [A, B, C], end: 'closed' });
  });

  it('ends on a cycle that misses the head, a null Flink, the limit and unreadable memory', async () => {
    const m = new Memory();
    m.ring(HEAD, [A, B, C]);
    m.u64(C, A); // C → A again
    expect(await walkListEntries(m.read, HEAD)).toEqual({ entries: [A, B, C], end: 'cycle' });
    m.u64(C, 0n);
    expect(await walkListEntries(m.read, HEAD)).toEqual({ entries: [A, B, C], end: 'null' });
    expect(await walkListEntries(m.read, HEAD, { maxEntries: 2 })).toEqual({ entries: [A, B], end: 'limit' });
    m.u64(B, 0x9000n); // nothing mapped there: the entry is named, its links are not readable
    expect(await walkListEntries(m.read, HEAD)).toEqual({ entries: [A, B, 0x9000n], end: 'unreadable' });
    expect(await walkListEntries(m.read, 0x8000n)).toEqual({ entries: [], end: 'unreadable' });
  });

  it('checks Blinks when asked, and a complete walk throws ERR_KERNEL_LIST_BROKEN', async () => {
    const m = new Memory();
    m.ring(HEAD, [A, B, C]);
    m.u64(B + 8n, C); // B's Blink should be A
    expect(await walkListEntries(m.read, HEAD)).toEqual({ entries: [A, B, C], end: 'closed' });
    expect(await walkListEntries(m.read, HEAD, { checkBlinks: true })).toEqual({ entries: [A], end: 'broken-blink' });
    const error = await walkListEntries(m.read, HEAD, { complete: true }).catch((e: unknown) => e);
    expect(isVmkdError(error, KernelWalkErrorCode.BrokenList)).toBe(true);
    expect(error).toMatchObject({ details: { head: '0x1000', entry: '0x2000', end: 'broken-blink', entries: 1 } });
  });

  it('reads each entry once (8 bytes, 16 with Blinks)', async () => {
    const m = new Memory();
    m.ring(HEAD, [A, B]);
    await walkListEntries(m.read, HEAD);
    expect(m.reads).toEqual([[HEAD, 8], [A, 8], [B, 8]]);
  });
});

describe('walkLoadedModules', () => {
  const L = KldrDataTableEntryOffset;
  function module(m: Memory, entry: bigint, base: bigint, size: number, baseName: string, fullName: string): void {
    m.fill(entry, 0xa0);
    m.u64(entry + BigInt(L.DllBase), base);
    m.u32(entry + BigInt(L.SizeOfImage), size);
    m.unicode(entry + BigInt(L.FullDllName), entry + 0x200n, fullName);
    m.unicode(entry + BigInt(L.BaseDllName), entry + 0x400n, baseName);
  }

  it('reads base, size and names in load order', async () => {
    const m = new Memory();
    module(m, A, 0xfffff80000000000n, 0x5e6000, 'ntoskrnl.exe', '\\SystemRoot\\system32\\ntoskrnl.exe');
    module(m, B, 0xfffff80000800000n, 0x49000, 'hal.dll', '\\SystemRoot\\system32\\hal.dll');
    m.ring(HEAD, [A, B]);
    expect(await walkLoadedModules(m.read, HEAD)).toEqual([
      { entry: A, base: 0xfffff80000000000n, size: 0x5e6000, name: 'ntoskrnl.exe' },
      { entry: B, base: 0xfffff80000800000n, size: 0x49000, name: 'hal.dll' },
    ]);
    expect((await walkLoadedModules(m.read, HEAD, { fullNames: true })).map((x) => x.fullName)).toEqual(['\\SystemRoot\\system32\\ntoskrnl.exe', '\\SystemRoot\\system32\\hal.dll']);
  });

  it('ends at an entry whose fields cannot be read; an unreadable name is empty', async () => {
    const m = new Memory();
    module(m, A, 0x10000n, 0x1000, 'a.sys', 'a');
    m.u64(A + BigInt(L.BaseDllName) + 8n, 0x7770000n); // the name's buffer is not mapped
    m.ring(HEAD, [A, B]); // B has links but no fields
    expect(await walkLoadedModules(m.read, HEAD)).toEqual([{ entry: A, base: 0x10000n, size: 0x1000, name: '' }]);
  });
});

describe('walkActiveProcesses', () => {
  const offsets = { uniqueProcessId: 0x180, activeProcessLinks: 0x188, inheritedFromUniqueProcessId: 0x290, imageFileName: 0x2e0 };
  function process(m: Memory, eprocess: bigint, pid: number, parent: number, name: string): bigint {
    m.u64(eprocess + 0x28n, 0x187000n + eprocess);
    m.u64(eprocess + 0x180n, BigInt(pid));
    m.u64(eprocess + 0x290n, BigInt(parent));
    m.ascii(eprocess + 0x2e0n, name, 15);
    return eprocess + 0x188n;
  }

  it('reads pid, parent and the image name up to its NUL; the directory table base when asked', async () => {
    const m = new Memory();
    m.ring(HEAD, [process(m, 0x10000n, 4, 0, 'System'), process(m, 0x20000n, 300, 4, 'smss.exe')]);
    expect(await walkActiveProcesses(m.read, HEAD, offsets)).toEqual([
      { eprocess: 0x10000n, pid: 4, parentPid: 0, name: 'System' },
      { eprocess: 0x20000n, pid: 300, parentPid: 4, name: 'smss.exe' },
    ]);
    const withCr3 = await walkActiveProcesses(m.read, HEAD, { ...offsets, directoryTableBase: 0x28 });
    expect(withCr3.map((p) => p.directoryTableBase)).toEqual([0x197000n, 0x1a7000n]);
  });
});

describe('readKdDebuggerData', () => {
  it('follows DebuggerDataList to the block and reads its header and list heads', async () => {
    const m = new Memory();
    const K = KdDebuggerDataOffset;
    const block = 0xfffff80000200000n;
    m.fill(block, K.MmPhysicalMemoryBlock);
    m.u64(HEAD, block);
    m.u32(block + BigInt(K.OwnerTag), KDBG_OWNER_TAG);
    m.u32(block + BigInt(K.Size), 0x340);
    m.u64(block + BigInt(K.KernBase), 0xfffff80000000000n);
    m.u16(block + BigInt(K.PaeEnabled), 1);
    m.u64(block + BigInt(K.PsLoadedModuleList), 0xfffff80000300000n);
    m.u64(block + BigInt(K.PsActiveProcessHead), 0xfffff80000300100n);
    const data = await readKdDebuggerData(m.read, HEAD);
    expect(data).toMatchObject({ address: block, ownerTag: 'KDBG', size: 0x340, kernBase: 0xfffff80000000000n, paeEnabled: 1, psLoadedModuleList: 0xfffff80000300000n, psActiveProcessHead: 0xfffff80000300100n });
    expect(await readKdDebuggerData(m.read, 0x5000n)).toBeUndefined();
  });
});

describe('layouts', () => {
  it('the CONTEXT register table is the named offsets', () => {
    expect(AMD64_CONTEXT_REGISTERS.get('rip')?.offset).toBe(Amd64ContextOffset.Rip);
    expect(Amd64ContextOffset.Rip).toBe(0xf8);
    expect(KdDebuggerDataOffset).toMatchObject({ KernBase: 0x18, PsLoadedModuleList: 0x48, PsActiveProcessHead: 0x50 });
  });

  it('a session reader returns whole reads only', async () => {
    const read = sessionMemoryReader({ readVirtual: (_a, length) => Promise.resolve({ data: new Uint8Array(length), bytesRead: Math.min(length, 4), status: 0 }) });
    expect(await read(0n, 4)).toEqual(new Uint8Array(4));
    expect(await read(0n, 8)).toBeUndefined();
  });
});
