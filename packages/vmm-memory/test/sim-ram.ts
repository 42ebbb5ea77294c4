import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDebuggerSession, createMemoryPacketPair, createTargetSession, type DebuggerSession, type TargetSession } from '@vmkd/kd-protocol';
import { createSimTarget, type SimTarget } from '@vmkd/sim-target';
import { createFastPathLink, type FastPathLink, type FastPathNotice } from '../src/index.js';
import { openFileSource } from '../src/file-source.js';

/** A directory for RAM files: /dev/shm when there is one (as a real deployment would use), else the temp dir. */
export function ramDir(): { dir: string; remove(): void } {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'vmkd-vmm-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface SimWithFastPath {
  readonly sim: SimTarget;
  readonly ramPath: string;
  /** Undefined when built with `fastPath: false` (the debugger talks to the guest link directly). */
  readonly link: FastPathLink;
  readonly debuggerSession: DebuggerSession;
  readonly targetSession: TargetSession;
  readonly notices: FastPathNotice[];
  close(): Promise<void>;
}

/** The virtual kernel with a RAM file, its TargetSession on an in-memory packet pair, the fast path in front, a DebuggerSession attached. */
export async function simWithFastPath(dir: string, memorySize = 64 * 1024 * 1024, options: { readonly fastPath?: boolean; readonly cpus?: number } = {}): Promise<SimWithFastPath> {
  const ramPath = join(dir, 'sim.ram');
  const sim = createSimTarget({ memorySize, ramFile: ramPath, printIntervalMs: 0, ...(options.cpus === undefined ? {} : { cpus: options.cpus }) });
  const [targetFacing, debuggerFacing] = createMemoryPacketPair();
  const targetSession = createTargetSession(debuggerFacing, sim);
  const link = createFastPathLink(targetFacing, await openFileSource(ramPath));
  const notices: FastPathNotice[] = [];
  link.notices$.subscribe((n) => notices.push(n));
  const debuggerSession = createDebuggerSession(options.fastPath === false ? targetFacing : link, { timeoutMs: 20_000 });
  await debuggerSession.attach({ timeoutMs: 20_000 });
  return {
    sim,
    ramPath,
    link,
    debuggerSession,
    targetSession,
    notices,
    async close() {
      await debuggerSession.close();
      if (options.fastPath === false) await targetFacing.close();
      await link.close();
      await targetSession.close();
      sim.close();
    },
  };
}
