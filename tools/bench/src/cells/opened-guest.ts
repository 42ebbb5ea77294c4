import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGuest, type OpenedLink } from '@vmkd/connect';
import type { PacketLink } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import { benchRegistry } from './registry.js';
import { createSwitchableClock, type SwitchableClock } from './sim-clock.js';

/** A `sim://` guest opened by URI, with what a cell reads from it. */
export interface BenchGuest {
  readonly opened: OpenedLink;
  /** The target-facing link the debugger (or the router) talks to. */
  readonly link: PacketLink;
  /** The virtual kernel's data region: formula content, safe to read and verify. */
  readonly dataBase: bigint;
  readonly dataSize: bigint;
  /** A child process that is part of the guest, for CPU and RSS. */
  readonly childPid?: number;
  /** The in-process virtual kernel's clock (switch it to eager for breakpoint round trips); none for a child's. */
  readonly clock?: SwitchableClock;
  /** How long the virtual CPU may wait for its next tick after a continue, ms (0: eager clock). */
  readonly simTickMs?: number;
  /** Bytes on the guest transport's wire so far (KDCOM frames, KDRPC request and reply bodies). */
  wireBytes(): number;
  close(): Promise<void>;
}

export interface BenchGuestOptions {
  /**
   * Give the guest a virtual kernel made here (Windows 7 SP1, one CPU, no DbgPrint, this much
   * memory) with a switchable clock. Only for guests whose kernel runs in this process.
   */
  readonly inProcessSim?: { readonly memorySize: number };
}

/** `{tmp}` in a guest URI: a private directory (in /dev/shm where there is one, as guest RAM files are), removed after the cell. */
const TMP = '{tmp}';

/** The default tick of a virtual kernel the bench did not make (sim-target's 100 per second). */
const CHILD_TICK_MS = 10;

/** Opens a guest URI (a `sim://` one: the bench reads the kernel's data region it reports). */
export async function openBenchGuest(uri: string, options: BenchGuestOptions = {}): Promise<BenchGuest> {
  let dir: string | undefined;
  if (uri.includes(TMP)) {
    dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vmkd-bench-guest-'));
    uri = uri.replaceAll(TMP, dir);
  }
  const removeDir = (): Promise<void> => (dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true }));
  const clock = options.inProcessSim === undefined ? undefined : createSwitchableClock();
  const sim =
    options.inProcessSim === undefined || clock === undefined
      ? undefined
      : createSimTarget({ build: 'win7-sp1-x64', memorySize: options.inProcessSim.memorySize, cpus: 1, printIntervalMs: 0, clock });
  let opened: OpenedLink;
  try {
    opened = await openGuest(uri, { registry: benchRegistry, ...(sim === undefined ? {} : { simTarget: { backend: sim, dataRegion: sim.layout.dataRegion } }) });
  } catch (error) {
    sim?.close();
    await removeDir();
    throw error;
  }
  const facts = opened.sim;
  if (facts === undefined) {
    await opened.close();
    sim?.close();
    await removeDir();
    throw new Error(`${uri}: the bench needs a sim:// guest (it reads the virtual kernel's data region)`);
  }
  return {
    opened,
    link: opened.link,
    dataBase: facts.dataRegion.virtualBase,
    dataSize: facts.dataRegion.size,
    ...(facts.childPid === undefined ? {} : { childPid: facts.childPid }),
    ...(clock === undefined ? { simTickMs: CHILD_TICK_MS } : { clock, simTickMs: 0 }),
    wireBytes:
      opened.wireBytes?.bind(opened) ??
      (() => {
        const s = opened.link.stats();
        return s.bytesIn + s.bytesOut;
      }),
    close: async () => {
      try {
        await opened.close();
        sim?.close();
      } finally {
        await removeDir();
      }
    },
  };
}
