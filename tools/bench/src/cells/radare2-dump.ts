import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDebugger } from '@vmkd/connect';
import { startReadyChild, type ReadyChild } from '@vmkd/connect/internal';
import type { Radare2Result } from '../result-types.js';
import { benchRegistry } from './registry.js';

/** Why the radare2 cell cannot run here, or undefined when `r2` with its winkd plugin is on PATH. */
export function radare2UnavailableReason(): string | undefined {
  const version = spawnSync('r2', ['-v'], { encoding: 'utf8' });
  if (version.status !== 0) return 'radare2 (r2) is not on PATH';
  if (!spawnSync('r2', ['-L'], { encoding: 'utf8' }).stdout.includes('winkd')) return 'r2 has no winkd plugin';
  return undefined;
}

/** One scripted radare2 run over KDCOM on a Unix socket; resolves with its wall time. */
function r2(path: string, commands: string, timeoutMs: number): Promise<{ code: number | null; out: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('r2', ['-q', '-e', 'scr.color=0', '-a', 'x86', '-b', '64', '-D', 'winkd', '-c', commands, `winkd://${path}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-4000)));
    child.stderr.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: performance.now() - t0 });
    });
  });
}

/**
 * radare2 (a KD client nobody here wrote) dumping `bytes` of the virtual kernel's memory through a
 * route in its own process (`guestUri` → router → KDCOM endpoint on a Unix socket), then vmkd's own
 * client reading the same range through the same route. radare2's time is its dump run minus a run
 * that only attaches (its start-up and attach are not the transfer). Both must read the same bytes.
 */
export async function runRadare2Dump(guestUri: string, bytes: number, id: string): Promise<Radare2Result> {
  const base = { id, description: `radare2 winkd:// and vmkd's client, one after the other, through the same route (${guestUri} → unix: endpoint)`, bytes };
  const reason = radare2UnavailableReason();
  if (reason !== undefined) return { ...base, status: 'skipped', reason };
  const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-r2-'));
  let child: ReadyChild | undefined;
  try {
    const socket = join(dir, 'kd.sock');
    child = await startReadyChild(import.meta.url, 'route-child', [guestUri, `unix:${socket}`], { startTimeoutMs: 60_000 });
    const [address, , dataBaseText] = child.words;
    if (address === undefined || dataBaseText === undefined || dataBaseText === '-') throw new Error(`route child: unexpected ready line ${child.words.join(' ')}`);
    const dataBase = BigInt(dataBaseText);
    const file = join(dir, 'r2.bin');
    const attachOnly = await r2(socket, 'dp', 120_000);
    if (attachOnly.code !== 0) throw new Error(`radare2 attach failed (exit ${attachOnly.code}): ${attachOnly.out.trim().slice(-300)}`);
    const dump = await r2(socket, `wtf ${file} ${bytes} @ 0x${dataBase.toString(16)}`, 600_000);
    if (dump.code !== 0) throw new Error(`radare2 dump failed (exit ${dump.code}): ${dump.out.trim().slice(-300)}`);
    const r2Bytes = await readFile(file);

    const connection = await connectDebugger(address, { registry: benchRegistry, timeoutMs: 10_000 });
    let mine: Uint8Array;
    let vmkdSeconds: number;
    try {
      await connection.session.attach({ timeoutMs: 20_000 });
      mine = new Uint8Array(bytes);
      const t0 = performance.now();
      for (let offset = 0; offset < bytes; offset += 256 * 1024) {
        const n = Math.min(256 * 1024, bytes - offset);
        await connection.session.readVirtualInto(dataBase + BigInt(offset), mine.subarray(offset, offset + n));
      }
      vmkdSeconds = (performance.now() - t0) / 1000;
    } finally {
      await connection.close();
    }
    const r2Seconds = Math.max(1e-3, (dump.ms - attachOnly.ms) / 1000);
    const matched = r2Bytes.length === bytes && Buffer.compare(r2Bytes, Buffer.from(mine.buffer, mine.byteOffset, bytes)) === 0;
    return {
      ...base,
      status: matched ? 'ok' : 'failed',
      ...(matched ? {} : { reason: `radare2 wrote ${r2Bytes.length} bytes that differ from vmkd's read` }),
      radare2BytesPerSecond: bytes / r2Seconds,
      vmkdBytesPerSecond: bytes / vmkdSeconds,
      matched,
    };
  } catch (error) {
    return { ...base, status: 'failed', reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await child?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
