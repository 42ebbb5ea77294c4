import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCrashDump } from '@vmkd/vmm-memory';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runInProcess } from './cli-harness.js';

describe('vmkd dump', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vmkd-dump-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("dumps the virtual kernel from its RAM file after validating it", async () => {
    const ram = join(dir, 'sim.ram');
    const out = join(dir, 'sim.dmp');
    const run = await runInProcess(['dump', `sim://?via=serial&baud=0&memory=32M&ram=${ram}`, out, '--json', '--fsync']);
    expect(run.stderr).toContain('[memory] memory fast path validated');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { from: string; io: string; type: string; pagesTotal: number; fileBytes: number; peakRssMiB: number; fastPath: { validationsPassed: number } };
    expect(result.peakRssMiB).toBeGreaterThan(0);
    expect(result).toMatchObject({ from: 'source', type: 'full', pagesTotal: 8192, fileBytes: 0x2000 + 32 * 1024 * 1024 });
    expect(['direct', 'buffered']).toContain(result.io);
    expect(result.fastPath.validationsPassed).toBe(1);
    const dump = await openCrashDump(out);
    expect(dump.pageCount).toBe(8192);
    await dump.close();
  });

  it('writes a bitmap dump through KD when there is no memory source', async () => {
    const out = join(dir, 'kd.dmp');
    const run = await runInProcess(['dump', 'sim://?via=serial&baud=0&memory=32M', out, '--bitmap']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/kd\.dmp: bitmap dump, \d+ of 8192 pages \(.* MiB\) from KD in .* MiB\/s, (direct|buffered) writes\)/);
    const dump = await openCrashDump(out);
    expect(dump.type).toBe('bitmap');
    await dump.close();
  });

  it('refuses a bad memory source with its code', async () => {
    const run = await runInProcess(['dump', 'sim://?via=serial&baud=0&memory=32M', join(dir, 'x.dmp'), '--memory', 'vmem:/nope', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'ERR_VMM_BAD_URI' } });
  });
});
