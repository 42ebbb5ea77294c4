import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDumpFile, pageAlignedBuffers } from './dump-file.js';

describe('the dump file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmkd-dump-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('carves page-aligned buffers that do not overlap', () => {
    const buffers = pageAlignedBuffers(3, 8192);
    expect(buffers.map((b) => b.length)).toEqual([8192, 8192, 8192]);
    buffers.forEach((b, i) => b.fill(i + 1));
    expect(buffers.map((b) => [b[0], b[8191]])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(new Set(buffers.map((b) => b.byteOffset % 4096))).toEqual(new Set([0]));
  });

  it('writes pages directly where it can and everything else through the page cache, the same bytes either way', async () => {
    const path = join(dir, 'x.dmp');
    const file = await openDumpFile(path, { create: true, direct: true });
    const [pages] = pageAlignedBuffers(1, 3 * 4096);
    for (let i = 0; i < pages.length; i++) pages[i] = (i * 7) & 0xff;
    await file.write(Uint8Array.of(1, 2, 3), 0);
    await file.writePages(pages.subarray(0, 2 * 4096), 4096);
    // An unaligned buffer: a file system that enforces O_DIRECT's alignment refuses it (EINVAL) and
    // the file goes on through the page cache; one that does not takes it as it is.
    const before = file.io();
    await file.writePages(pages.subarray(1, 4097), 3 * 4096);
    if (before === 'buffered') expect(file.io()).toBe('buffered');
    await file.writePages(pages.subarray(0, 4096), 4 * 4096);
    await file.sync();
    await file.close();
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(5 * 4096);
    expect([...bytes.subarray(0, 4)]).toEqual([1, 2, 3, 0]);
    expect(bytes.subarray(4096, 3 * 4096).equals(pages.subarray(0, 2 * 4096))).toBe(true);
    expect(bytes.subarray(3 * 4096, 4 * 4096).equals(pages.subarray(1, 4097))).toBe(true);
    expect(bytes.subarray(4 * 4096).equals(pages.subarray(0, 4096))).toBe(true);
  });

  const shmIsTmpfs = process.platform === 'linux' && existsSync('/dev/shm') && statfsSync('/dev/shm').type === 0x01021994;
  it.skipIf(!shmIsTmpfs)(`writes through the page cache on tmpfs, where O_DIRECT saves no copy${shmIsTmpfs ? '' : ' (skipped: no tmpfs at /dev/shm)'}`, async () => {
    const shm = mkdtempSync('/dev/shm/vmkd-dump-file-');
    try {
      const file = await openDumpFile(join(shm, 'z.dmp'), { create: true, direct: true });
      expect(file.io()).toBe('buffered');
      await file.close();
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('writes through the page cache when direct writes are not asked for', async () => {
    const file = await openDumpFile(join(dir, 'y.dmp'), { create: true, direct: false });
    expect(file.io()).toBe('buffered');
    await file.close();
  });
});
