import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDebuggerSession, createMemoryPacketPair, createTargetSession } from '@vmkd/kd-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimTarget } from '../src/index.js';

/**
 * Every module of the virtual kernel is a whole PE32+ image a third-party reader accepts: each
 * image is read through KD (DebuggerSession → TargetSession → the kernel), SizeOfImage bytes from
 * its base as found on PsLoadedModuleList, written to a file, and handed to binutils' `objdump -p`,
 * which must print the export table and the CodeView RSDS record.
 */
const objdump = spawnSync('objdump', ['--version'], { encoding: 'utf8' }).status === 0 ? 'objdump' : undefined;
const skipReason = objdump === undefined ? 'objdump (binutils) is not on PATH' : undefined;

describe.skipIf(skipReason !== undefined)(`module images through KD and objdump -p${skipReason === undefined ? '' : ` (skipped: ${skipReason})`}`, () => {
  const sim = createSimTarget({ build: 'win10-2004-x64', printIntervalMs: 0 });
  const [debuggerLink, targetLink] = createMemoryPacketPair();
  const target = createTargetSession(targetLink, sim);
  const session = createDebuggerSession(debuggerLink, { timeoutMs: 30_000 });
  const dir = mkdtempSync(join(tmpdir(), 'vmkd-images-'));
  const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
  const u64 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);

  beforeAll(async () => {
    await session.attach();
  });
  afterAll(async () => {
    await session.close();
    await target.close();
    await debuggerLink.close();
    await targetLink.close();
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('walks PsLoadedModuleList, dumps every image and objdump prints its exports and CodeView record', { timeout: 300_000 }, async () => {
    const version = await session.getVersion();
    const head = version.psLoadedModuleList;
    let entry = u64((await session.readVirtual(head, 8)).data, 0);
    let checked = 0;
    while (entry !== head) {
      const ldr = (await session.readVirtual(entry, 0xa0)).data;
      const base = u64(ldr, 0x30);
      const size = u32(ldr, 0x40);
      const stamp = u32(ldr, 0x9c);
      const module = sim.modules.find((m) => m.base === base)!;
      const image = await session.readVirtual(base, size);
      expect(image.bytesRead).toBe(size); // the whole image is mapped
      // Header and LDR entry agree on SizeOfImage and TimeDateStamp.
      const pe = u32(image.data, 0x3c);
      expect(u32(image.data, pe + 8)).toBe(stamp);
      expect(u32(image.data, pe + 24 + 0x38)).toBe(size);
      const file = join(dir, module.baseName);
      writeFileSync(file, image.data);
      // stderr carries binutils' notes on the NOT_PAGED section flag kernel images use; only stdout matters.
      const out = execFileSync(objdump!, ['-p', file], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
      expect(out).toMatch(/file format pei-x86-64/);
      expect(out).toMatch(/The Export Tables/);
      expect(out).toMatch(new RegExp(`Name\\s+[0-9a-f]+ ${module.baseName.replace('.', '\\.')}\\n`));
      expect(out).toMatch(/\[Ordinal\/Name Pointer\] Table/);
      for (const name of module.exports.keys()) expect(out).toContain(name);
      expect(out).toContain(`(format RSDS signature ${module.pdb.guid.toLowerCase()} age 1 pdb ${module.pdb.name})`);
      checked++;
      entry = u64(ldr, 0);
    }
    expect(checked).toBe(sim.modules.length);
    const nt = sim.modules[0];
    expect(nt.pdb.name).toBe('ntkrnlmp.pdb');
    expect([...nt.exports.keys()]).toEqual(expect.arrayContaining(['KdDebuggerDataBlock', 'PsLoadedModuleList', 'KeBugCheckEx', 'DbgPrint', 'PsActiveProcessHead']));
    expect(sim.modules[1].pdb.name).toBe('hal.pdb');
    expect(sim.modules[2].pdb.name).toBe('kdcom.pdb');
  });
});
