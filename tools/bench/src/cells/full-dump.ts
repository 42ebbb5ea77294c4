import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDebugger } from '@vmkd/connect';
import { startReadyChild, type ReadyChild } from '@vmkd/connect/internal';
import { fillExpected } from '@vmkd/sim-target';
import { childPeakRss, startRssSampler } from '../process-usage.js';
import type { DumpResult, ProcessRss } from '../result-types.js';
import { benchRegistry } from './registry.js';

/** The most a route process may hold resident however much it moves (issue 15). */
export const ROUTE_RSS_LIMIT_BYTES = 100 * 1024 * 1024;

export interface DumpShape {
  readonly id: string;
  readonly description: string;
  /** The guest, by URI; `{memory}` is replaced by the dump size. */
  readonly guestUri: string;
}

export interface DumpOptions {
  readonly bytes: number;
  /** Bytes per read call (each split into KD requests of at most 4,000). */
  readonly callBytes?: number;
  readonly timeoutMs?: number;
  readonly progress?: (fraction: number) => void;
}

/** Physmap addresses have their low 39 bits equal to the physical address (sim-target's layout). */
const LOW_39 = (1n << 39n) - 1n;

/**
 * Dumps `bytes` of guest-physical memory (all of the kernel's RAM when it is at least 64 MiB; else
 * the top of a 64 MiB kernel's) through a route in its own process
 * (`route-child`: guest → router → KDCOM endpoint on a Unix socket) with vmkd's debugger in this
 * one, as `vmkd route` and a debugger would run. Verifies the virtual kernel's formula region (all
 * RAM above its reserve) byte for byte, and reports the peak RSS of every process: the guest's own
 * where it has one, the route, and this debugger process while it dumped.
 */
export async function runFullDump(shape: DumpShape, options: DumpOptions): Promise<DumpResult> {
  const base = { id: shape.id, description: shape.description, bytes: options.bytes };
  const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-dump-'));
  let child: ReadyChild | undefined;
  let connection: Awaited<ReturnType<typeof connectDebugger>> | undefined;
  const rss = startRssSampler();
  try {
    // The kernel has at least 64 MiB; a smaller dump takes the top of its RAM (formula content).
    const memoryMiB = Math.max(64, Math.ceil(options.bytes / 1048576));
    const start = memoryMiB * 1048576 - options.bytes;
    const guestUri = shape.guestUri.replace('{memory}', `${memoryMiB}M`);
    child = await startReadyChild(import.meta.url, 'route-child', [guestUri, `unix:${join(dir, 'kd.sock')}`], { startTimeoutMs: 60_000 });
    const [address, guestPidText, dataBaseText] = child.words;
    if (address === undefined || dataBaseText === undefined) throw new Error(`route child: unexpected ready line ${child.words.join(' ')}`);
    const guestPid = guestPidText === undefined || guestPidText === '-' ? undefined : Number(guestPidText);
    const formulaFrom = BigInt(dataBaseText) & LOW_39;
    const timeoutMs = options.timeoutMs ?? 10_000;
    connection = await connectDebugger(address, { registry: benchRegistry, timeoutMs });
    const session = connection.session;
    await session.attach({ timeoutMs: timeoutMs * 2 });

    const callBytes = options.callBytes ?? 1024 * 1024;
    const buffer = new Uint8Array(callBytes);
    const expected = new Uint8Array(callBytes);
    let verified = true;
    let verifiedBytes = 0;
    let readNs = 0n;
    for (let offset = start; offset < start + options.bytes; offset += callBytes) {
      const n = Math.min(callBytes, start + options.bytes - offset);
      const target = buffer.subarray(0, n);
      const t0 = process.hrtime.bigint();
      const got = await session.readPhysicalInto(BigInt(offset), target);
      readNs += process.hrtime.bigint() - t0;
      if (got.bytesRead !== n) throw new Error(`dump: read ${got.bytesRead} of ${n} bytes at physical 0x${offset.toString(16)}`);
      // Verify what lies in the formula region (outside the timed part).
      const from = BigInt(offset) >= formulaFrom ? 0 : Number(formulaFrom - BigInt(offset));
      if (from < n) {
        fillExpected(BigInt(offset + from), expected.subarray(from, n));
        if (Buffer.compare(Buffer.from(target.buffer, target.byteOffset + from, n - from), Buffer.from(expected.buffer, from, n - from)) !== 0) verified = false;
        verifiedBytes += n - from;
      }
      options.progress?.((offset + n - start) / options.bytes);
    }
    const seconds = Number(readNs) / 1e9;
    const processes: ProcessRss[] = [];
    if (guestPid !== undefined) processes.push({ role: 'guest', peakRssBytes: childPeakRss(guestPid) });
    processes.push({ role: guestPid === undefined ? 'route + guest' : 'route', peakRssBytes: childPeakRss(child.pid) });
    processes.push({ role: 'debugger (bench)', peakRssBytes: rss.stop() });
    return { ...base, status: verified ? 'ok' : 'failed', ...(verified ? {} : { reason: 'ERR_BENCH_VERIFY_FAILED: dumped memory differs from the formula' }), seconds, bytesPerSecond: options.bytes / seconds, verified, verifiedBytes, processes };
  } catch (error) {
    rss.stop();
    return { ...base, status: 'failed', reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await connection?.close().catch(() => undefined);
    await child?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
