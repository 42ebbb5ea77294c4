import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectQmp, type QmpClient } from '../src/index.js';

export const QEMU = 'qemu-system-x86_64';

/** Why the QEMU tests cannot run here, or undefined when they can. */
export function qemuUnavailableReason(): string | undefined {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return `${QEMU} is not installed (Debian: apt-get install qemu-system-x86)`;
  return undefined;
}

export interface Blob {
  readonly address: bigint;
  readonly bytes: Uint8Array;
}

export interface PausedQemu {
  readonly qmpPath: string;
  readonly ramPath: string;
  readonly child: ChildProcess;
  readonly monitor: QmpClient;
  /** QEMU's own view of guest-physical memory: the monitor's `xp /Nxb`. */
  xp(address: bigint, length: number): Promise<Uint8Array>;
  stop(): Promise<void>;
}

/**
 * QEMU (TCG) started paused (-S) with file-backed q35 RAM of `ramSize` in `dir` and each blob put
 * in guest RAM by QEMU's generic loader; QMP on a Unix socket in `dir`.
 */
export async function startPausedQemu(dir: string, ramSize: string, blobs: readonly Blob[]): Promise<PausedQemu> {
  const qmpPath = join(dir, 'qmp.sock');
  // QEMU serves one client per QMP socket: the test's own monitor gets a second one.
  const testQmpPath = join(dir, 'test-qmp.sock');
  const ramPath = join(dir, 'guest.ram');
  const args = [
    '-S',
    '-display', 'none',
    '-nodefaults',
    '-accel', 'tcg',
    '-m', ramSize,
    '-object', `memory-backend-file,id=ram,size=${ramSize},mem-path=${ramPath},share=on`,
    '-machine', 'q35,memory-backend=ram',
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
    '-qmp', `unix:${testQmpPath},server=on,wait=off`,
  ];
  blobs.forEach((blob, i) => {
    const file = join(dir, `blob${i}.bin`);
    writeFileSync(file, blob.bytes);
    args.push('-device', `loader,file=${file},addr=0x${blob.address.toString(16)},force-raw=on`);
  });
  const child = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let monitor: QmpClient | undefined;
  for (let attempt = 0; attempt < 600 && monitor === undefined; attempt++) {
    if (child.exitCode !== null) throw new Error(`QEMU exited with ${child.exitCode}: ${stderr}`);
    if (existsSync(testQmpPath) && existsSync(qmpPath)) {
      try {
        monitor = await connectQmp(testQmpPath, { timeoutMs: 30_000 });
      } catch {
        // not listening yet
      }
    }
    if (monitor === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  if (monitor === undefined) {
    child.kill('SIGKILL');
    throw new Error(`QEMU's QMP socket did not come up: ${stderr}`);
  }
  const m = monitor;
  return {
    qmpPath,
    ramPath,
    child,
    monitor: m,
    async xp(address, length) {
      const text = await m.hmp(`xp /${length}xb 0x${address.toString(16)}`);
      const bytes: number[] = [];
      for (const line of text.split('\n')) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        for (const token of line.slice(colon + 1).trim().split(/\s+/)) if (/^0x[0-9a-f]{2}$/.test(token)) bytes.push(Number(token));
      }
      return Uint8Array.from(bytes);
    },
    async stop() {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      try {
        await m.execute('quit');
      } catch {
        // QEMU closes the monitor as it quits
      }
      m.close();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
