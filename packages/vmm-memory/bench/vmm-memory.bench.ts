/**
 * The memory fast path's figures (issue 14), in one run so they can be compared:
 * - source reads of 1 MiB from a memory file (target ≥ 1 GB/s);
 * - `vmkd dump` of a 1 GiB virtual kernel from its RAM file (target ≤ 2 s), beside the raw memory
 *   copy and disk write bandwidth (direct and through the page cache) measured in the same run,
 *   and their ratio; the same dump with `--buffered` in turns with it;
 * - a dump through KD (no source) beside KD's own ReadPhysicalMemory rate on the same link
 *   (target ≥ 0.5×).
 *
 *   npm run bench -w @vmkd/vmm-memory                       # 1 GiB guest, dump into the temp dir
 *   npm run bench -w @vmkd/vmm-memory -- --gib 1 --kd-mib 64 --out-dir /var/tmp --json
 */
import { constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pageAlignedBuffers } from '../src/dump-file.js';
import { dumpTarget, openFileSource, type DumpIo } from '../src/index.js';
import { simWithFastPath } from '../test/sim-ram.js';

const { values } = parseArgs({
  options: {
    gib: { type: 'string', default: '1' },
    'kd-mib': { type: 'string', default: '64' },
    'out-dir': { type: 'string', default: tmpdir() },
    json: { type: 'boolean', default: false },
  },
});
const GUEST = Math.round(Number(values.gib) * 1024) * 1024 * 1024;
const KD_GUEST = Number(values['kd-mib']) * 1024 * 1024;
const MIB = 1024 * 1024;
const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const ramDir = mkdtempSync(join(shm, 'vmkd-bench-ram-'));
const outDir = mkdtempSync(join(values['out-dir'], 'vmkd-bench-dump-'));
const log = (line: string) => process.stderr.write(`${line}\n`);
const figures: Record<string, number> = {};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

try {
  // Raw memory bandwidth: copying 1 GiB between two buffers in 4 MiB pieces (what a dump does with each page, at best).
  {
    const a = Buffer.alloc(64 * MIB, 1);
    const b = Buffer.alloc(64 * MIB);
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      for (let i = 0; i < GUEST / (64 * MIB); i++) a.copy(b);
      runs.push(GUEST / ((performance.now() - t) / 1000));
    }
    figures.memoryCopyBytesPerS = median(runs);
    log(`memory copy: ${(figures.memoryCopyBytesPerS / 1e9).toFixed(2)} GB/s`);
  }
  // Raw write bandwidth to the dump directory: 1 GiB in 4 MiB writes, into the page cache (what a
  // dump without --fsync waits for) and then with fsync (what the disk itself takes).
  for (const fsync of [false, true]) {
    const chunk = Buffer.alloc(4 * MIB, 7);
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const path = join(outDir, 'raw.bin');
      const t = performance.now();
      const h = await open(path, 'w');
      for (let at = 0; at < GUEST; at += chunk.length) await h.write(chunk, 0, chunk.length, at);
      if (fsync) await h.sync();
      await h.close();
      runs.push(GUEST / ((performance.now() - t) / 1000));
      rmSync(path);
    }
    figures[fsync ? 'diskWriteSyncedBytesPerS' : 'diskWriteBytesPerS'] = median(runs);
    log(`${fsync ? 'disk write + fsync' : 'write to the page cache'} (${values['out-dir']}): ${(median(runs) / 1e9).toFixed(2)} GB/s`);
  }

  // Raw direct-I/O bandwidth to the dump directory: 1 GiB in 2 MiB O_DIRECT writes, two in
  // flight, from page-aligned buffers (the pattern `vmkd dump` uses; no page cache involved).
  const directFlag = (constants as { O_DIRECT?: number }).O_DIRECT;
  if (directFlag !== undefined) {
    const piece = 2 * MIB;
    const bufs = pageAlignedBuffers(2, piece);
    bufs.forEach((b) => b.fill(7));
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const path = join(outDir, 'raw-direct.bin');
      const h = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | directFlag, 0o600);
      let next = 0;
      const t = performance.now();
      await Promise.all(
        bufs.map(async (b) => {
          while (next < GUEST) {
            const at = next;
            next += piece;
            await h.write(b, 0, piece, at);
          }
        }),
      );
      await h.close();
      runs.push(GUEST / ((performance.now() - t) / 1000));
      rmSync(path);
    }
    figures.diskWriteDirectBytesPerS = median(runs);
    log(`direct write (O_DIRECT, ${values['out-dir']}): ${(figures.diskWriteDirectBytesPerS / 1e9).toFixed(2)} GB/s`);
  }

  const env = await simWithFastPath(ramDir, GUEST);
  try {
    // Source reads of 1 MiB at random page-aligned addresses of the guest's RAM file.
    {
      const source = await openFileSource(env.ramPath);
      const buf = new Uint8Array(MIB);
      const runs: number[] = [];
      for (let r = 0; r < 7; r++) {
        const t = performance.now();
        for (let i = 0; i < 256; i++) {
          const pa = BigInt(Math.floor(Math.random() * (GUEST / MIB - 1))) * BigInt(MIB);
          await source.readPhysicalInto(pa, buf);
        }
        runs.push((256 * MIB) / ((performance.now() - t) / 1000));
      }
      await source.close();
      figures.sourceRead1MiBBytesPerS = median(runs);
      log(`source reads of 1 MiB: ${(figures.sourceRead1MiBBytesPerS / 1e9).toFixed(2)} GB/s (target ≥ 1 GB/s)`);
    }
    // vmkd dump of the whole guest from its RAM file; RSS sampled while it runs (the growth is the dump's own).
    {
      const runs: number[] = [];
      const bufferedRuns: number[] = [];
      let rssGrowth = 0;
      let io: DumpIo = 'buffered';
      // Taken in turns with `--buffered` dumps (through the page cache), so both see the same machine.
      for (let r = 0; r < 6; r++) {
        const direct = r % 2 === 0;
        const path = join(outDir, 'source.dmp');
        const rss0 = process.memoryUsage.rss();
        let peak = rss0;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
        const t = performance.now();
        const result = await dumpTarget(env.debuggerSession, path, { fastPath: env.link, direct });
        (direct ? runs : bufferedRuns).push((performance.now() - t) / 1000);
        clearInterval(sampler);
        rssGrowth = Math.max(rssGrowth, Math.max(peak, process.memoryUsage.rss()) - rss0);
        if (result.from !== 'source' || result.pagesTotal !== GUEST / 4096) throw new Error('the dump did not come from the source');
        if (direct) io = result.io;
        rmSync(path);
      }
      figures.dumpFromSourceBufferedSeconds = median(bufferedRuns);
      log(`dump of ${GUEST / 2 ** 30} GiB from the source, --buffered (runs ${bufferedRuns.map((s) => s.toFixed(2)).join(', ')} s): ${figures.dumpFromSourceBufferedSeconds.toFixed(2)} s`);
      figures.dumpRssGrowthBytes = rssGrowth;
      log(`dump RSS growth: ${(rssGrowth / MIB).toFixed(1)} MiB at most (process peak ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB, the virtual kernel included)`);
      figures.dumpFromSourceSeconds = median(runs);
      figures.dumpFromSourceBytesPerS = GUEST / figures.dumpFromSourceSeconds;
      // The bound is the smaller of memory copy and the write path the dump took: direct writes
      // (the disk itself) or, where O_DIRECT was refused, writes into the page cache.
      const write = io === 'direct' ? figures.diskWriteDirectBytesPerS : figures.diskWriteBytesPerS;
      const limit = Math.min(figures.memoryCopyBytesPerS, write);
      figures.dumpVsLimit = figures.dumpFromSourceBytesPerS / limit;
      log(
        `dump of ${GUEST / 2 ** 30} GiB from the source (${io} writes; runs ${runs.map((s) => s.toFixed(2)).join(', ')} s): ${figures.dumpFromSourceSeconds.toFixed(2)} s (${(figures.dumpFromSourceBytesPerS / 1e9).toFixed(2)} GB/s; target ≤ 2 s), ` +
          `${(figures.dumpVsLimit * 100).toFixed(0)}% of min(memory copy, ${io === 'direct' ? 'direct write' : 'page-cache write'})`,
      );
    }
  } finally {
    await env.close();
  }

  // Through KD: the dump's page reads against KD's own ReadPhysicalMemory rate on the same link.
  const kd = await simWithFastPath(ramDir, KD_GUEST, { fastPath: false });
  try {
    const buf = new Uint8Array(4 * MIB);
    // Warm up the KD path (JIT, first-touch pages) before timing it, as the dump below is timed warm.
    await kd.debuggerSession.readPhysicalInto(0n, buf);
    const reads: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      await kd.debuggerSession.readPhysicalInto(BigInt(r) * BigInt(4 * MIB), buf);
      reads.push(buf.length / ((performance.now() - t) / 1000));
    }
    figures.kdReadBytesPerS = median(reads);
    const path = join(outDir, 'kd.dmp');
    const t = performance.now();
    await dumpTarget(kd.debuggerSession, path);
    figures.dumpThroughKdSeconds = (performance.now() - t) / 1000;
    figures.dumpThroughKdBytesPerS = KD_GUEST / figures.dumpThroughKdSeconds;
    figures.dumpThroughKdVsRead = figures.dumpThroughKdBytesPerS / figures.kdReadBytesPerS;
    rmSync(path);
    log(
      `dump of ${KD_GUEST / MIB} MiB through KD (in-memory packet pair): ${figures.dumpThroughKdSeconds.toFixed(2)} s, ${(figures.dumpThroughKdBytesPerS / 1e6).toFixed(1)} MB/s; ` +
        `KD ReadPhysicalMemory ${(figures.kdReadBytesPerS / 1e6).toFixed(1)} MB/s; ratio ${figures.dumpThroughKdVsRead.toFixed(2)} (target ≥ 0.5)`,
    );
  } finally {
    await kd.close();
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ guestBytes: GUEST, kdGuestBytes: KD_GUEST, outDir: values['out-dir'], figures }, null, 2)}\n`);
} finally {
  rmSync(ramDir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
}
