import { join } from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Amd64ContextOffset as ContextOffset } from '@vmkd/kd-protocol/kernel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseDumpReader, dumpTarget, openCrashDump, readDumpHeaderInfo, resumeFilePath, writeCrashDump, type DumpProgress } from '../src/index.js';
import { findKdmpParser, runKdmpParser } from './kdmp-parser.js';
import { ramDir, simWithFastPath, type SimWithFastPath } from './sim-ram.js';

const parser = findKdmpParser();
const MIB = 1024 * 1024;

describe('vmkd dump of the virtual kernel', () => {
  let dir: ReturnType<typeof ramDir>;
  let env: SimWithFastPath | undefined;
  beforeEach(() => {
    dir = ramDir();
  });
  afterEach(async () => {
    await env?.close();
    env = undefined;
    dir.remove();
  });

  /** Marks a page through KD so the dump is checked against something the test put there. */
  async function mark(e: SimWithFastPath): Promise<bigint> {
    const pa = e.sim.layout.dataRegion.physicalBase + 0x123000n;
    await e.debuggerSession.writePhysical(pa, new TextEncoder().encode('vmkd dump marker page'));
    return pa;
  }

  async function checkAgainstTarget(e: SimWithFastPath, path: string, type: 'full' | 'bitmap', pa: bigint): Promise<void> {
    const dump = await openCrashDump(path);
    try {
      const stop = e.debuggerSession.lastStateChange!;
      expect(dump.type).toBe(type);
      expect(dump.machineImageType).toBe(0x8664);
      expect(dump.minorVersion).toBe(e.sim.build.buildNumber);
      expect(dump.psLoadedModuleList).toBe(e.sim.layout.psLoadedModuleList);
      expect(dump.kdDebuggerDataBlock).toBe(e.sim.layout.kdDebuggerDataBlock);
      expect(dump.directoryTableBase).toBe((await e.debuggerSession.getSpecialRegisters()).cr3);
      expect(dump.runs).toEqual([{ basePage: 0n, pageCount: BigInt(e.sim.memorySize / 4096) }]);
      expect(dump.context).toEqual((await e.debuggerSession.getContext()).bytes);
      expect(dump.exception.code).toBe(0x80000003);
      expect(dump.exception.address).toBe(stop.programCounter);
      const page = new Uint8Array(4096);
      expect(await dump.readPhysicalInto(pa, page)).toBe(4096);
      expect(page).toEqual(e.sim.readPhysical(pa, 4096));
      // The kernel's own first pages (page tables, the image) too.
      const cr3 = dump.directoryTableBase & ~0xfffn;
      expect(await dump.readPhysicalInto(cr3, page)).toBe(4096);
      expect(page).toEqual(e.sim.readPhysical(cr3, 4096));
      if (type === 'full') expect(dump.pageCount).toBe(e.sim.memorySize / 4096);
      else {
        expect(dump.pageCount).toBeLessThan(e.sim.memorySize / 4096);
        // Every page left out is a page of zeros.
        let checked = 0;
        for (let pfn = 0n; pfn < BigInt(e.sim.memorySize / 4096) && checked < 8; pfn++) {
          if (dump.hasPage(pfn)) continue;
          expect(e.sim.readPhysical(pfn * 4096n, 4096).every((b) => b === 0)).toBe(true);
          checked++;
        }
        expect(checked).toBeGreaterThan(0);
      }
    } finally {
      await dump.close();
    }
    if (parser !== undefined) {
      const view = runKdmpParser(parser, path, pa);
      const rip = new DataView(e.sim.getContext(0).buffer).getBigUint64(ContextOffset.Rip, true);
      expect(view.fields.get('rip')).toBe(rip);
      expect(view.fields.get('rsp')).toBe(new DataView(e.sim.getContext(0).buffer).getBigUint64(ContextOffset.Rsp, true));
      expect(view.fields.get('ExceptionCode')).toBe(0x80000003n);
      expect(view.fields.get('ExceptionAddress')).toBe(e.debuggerSession.lastStateChange!.programCounter);
      expect(view.page).toEqual(e.sim.readPhysical(pa & ~0xfffn, 4096));
    }
  }

  it.each(['full', 'bitmap'] as const)('writes a %s dump from the memory source', async (type) => {
    env = await simWithFastPath(dir.dir, 64 * MIB);
    const pa = await mark(env);
    const path = join(dir.dir, `${type}.dmp`);
    const progress: DumpProgress[] = [];
    const result = await dumpTarget(env.debuggerSession, path, { type, fastPath: env.link, onProgress: (p) => progress.push(p) });
    expect(result.from).toBe('source');
    expect(result.pagesTotal).toBe(16384);
    expect(result.pagesUnreadable).toBe(0);
    expect(progress.at(-1)).toMatchObject({ pagesDone: 16384, pagesTotal: 16384 });
    expect(env.link.fastPathStats().bytesThroughKd).toBeLessThan(64 * 1024);
    await checkAgainstTarget(env, path, type, pa);
  });

  it.each(['full', 'bitmap'] as const)('writes a %s dump through KD when there is no memory source', async (type) => {
    env = await simWithFastPath(dir.dir, 32 * MIB, { fastPath: false });
    const pa = await mark(env);
    const path = join(dir.dir, `kd-${type}.dmp`);
    const result = await dumpTarget(env.debuggerSession, path, { type });
    expect(result.from).toBe('kd');
    await checkAgainstTarget(env, path, type, pa);
  });

  it('uses KD when the fast path does not trust the source at this stop', async () => {
    env = await simWithFastPath(dir.dir, 32 * MIB);
    await env.debuggerSession.continue();
    expect(chooseDumpReader(env.debuggerSession, env.link)).toMatchObject({ from: 'kd', reason: 'the memory source is not validated at this stop' });
    await env.debuggerSession.breakIn({ timeoutMs: 20_000 });
    await env.debuggerSession.readVirtual(env.sim.layout.kernBase, 16);
    expect(chooseDumpReader(env.debuggerSession, env.link).from).toBe('source');
  });

  it('writes the same full dump with direct and with buffered writes, zero pages left as holes', async () => {
    env = await simWithFastPath(dir.dir, 32 * MIB);
    const pa = await mark(env);
    const info = await readDumpHeaderInfo(env.debuggerSession);
    const { reader } = chooseDumpReader(env.debuggerSession, env.link);
    // The direct one on the temp dir's file system (a disk here: tmpfs, where the RAM file lives, is always written buffered).
    const disk = mkdtempSync(join(tmpdir(), 'vmkd-dump-direct-'));
    const directPath = join(disk, 'direct.dmp');
    const direct = await writeCrashDump(directPath, info, reader, { chunkBytes: 256 * 1024 });
    const buffered = await writeCrashDump(join(dir.dir, 'buffered.dmp'), info, reader, { direct: false });
    expect(buffered.io).toBe('buffered');
    // Direct where the file system takes O_DIRECT (Linux ext4 and tmpfs do), else the page cache: either is the same file.
    expect(['direct', 'buffered']).toContain(direct.io);
    if (process.platform !== 'linux') expect(direct.io).toBe('buffered');
    expect(direct.fileBytes).toBe(0x2000 + 32 * MIB);
    expect(readFileSync(directPath).equals(readFileSync(join(dir.dir, 'buffered.dmp')))).toBe(true);
    // The kernel's zeroed pages were not written: the file holds fewer blocks than its size (both file systems the suite uses are sparse).
    const st = statSync(directPath);
    if (process.platform !== 'win32') expect(st.blocks * 512).toBeLessThan(st.size);
    await checkAgainstTarget(env, directPath, 'full', pa);
    rmSync(disk, { recursive: true, force: true });
  });

  it('resumes an interrupted dump of the same stop and refuses one of another stop', async () => {
    env = await simWithFastPath(dir.dir, 32 * MIB);
    const pa = await mark(env);
    const path = join(dir.dir, 'resumed.dmp');
    const info = await readDumpHeaderInfo(env.debuggerSession);
    const { reader } = chooseDumpReader(env.debuggerSession, env.link);
    let calls = 0;
    const failing = async (at: bigint, into: Uint8Array): Promise<boolean> => {
      if (++calls > 5) throw new Error('the disk went away');
      return reader(at, into);
    };
    await expect(writeCrashDump(path, info, failing, { type: 'bitmap', chunkBytes: MIB, checkpointBytes: 2 * MIB })).rejects.toMatchObject({ code: 'ERR_VMM_DUMP_WRITE' });
    expect(existsSync(resumeFilePath(path))).toBe(true);
    await expect(openCrashDump(path)).rejects.toMatchObject({ code: 'ERR_VMM_DUMP_FORMAT' });
    const pages: number[] = [];
    const result = await writeCrashDump(path, info, reader, { type: 'bitmap', resume: true, chunkBytes: MIB, onProgress: (p) => pages.push(p.pagesDone) });
    expect(result.resumedFrom).toBe(1024);
    expect(pages[0]).toBe(1280);
    expect(existsSync(resumeFilePath(path))).toBe(false);
    await checkAgainstTarget(env, path, 'bitmap', pa);

    calls = 0;
    await expect(writeCrashDump(path, info, failing, { type: 'full', chunkBytes: MIB, checkpointBytes: MIB })).rejects.toMatchObject({ code: 'ERR_VMM_DUMP_WRITE' });
    const other = { ...info, context: info.context.slice().fill(7, 0x100, 0x108) };
    await expect(writeCrashDump(path, other, reader, { type: 'full', resume: true })).rejects.toThrow(/another stop or type/);
  });

  it.skipIf(parser !== undefined)('checks with kdmp-parser when it is present (skipped: set KDMP_PARSER or put its `parser` on PATH)', () => {
    expect(parser).toBeUndefined();
  });
});
