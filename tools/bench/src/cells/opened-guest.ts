import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGuest, type OpenedLink } from '@vmkd/connect';
import type { PacketLink } from '@vmkd/kd-protocol';
import { benchRegistry } from './registry.js';

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
  /** Bytes on the guest transport's wire so far (KDCOM frames, KDRPC request and reply bodies). */
  wireBytes(): number;
  close(): Promise<void>;
}

/** `{tmp}` in a guest URI: a private directory (in /dev/shm where there is one, as guest RAM files are), removed after the cell. */
const TMP = '{tmp}';

/** Opens a guest URI (a `sim://` one: the bench reads the kernel's data region it reports). */
export async function openBenchGuest(uri: string): Promise<BenchGuest> {
  let dir: string | undefined;
  if (uri.includes(TMP)) {
    dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vmkd-bench-guest-'));
    uri = uri.replaceAll(TMP, dir);
  }
  const removeDir = (): Promise<void> => (dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true }));
  let opened: OpenedLink;
  try {
    opened = await openGuest(uri, { registry: benchRegistry });
  } catch (error) {
    await removeDir();
    throw error;
  }
  const sim = opened.sim;
  if (sim === undefined) {
    await opened.close();
    await removeDir();
    throw new Error(`${uri}: the bench needs a sim:// guest (it reads the virtual kernel's data region)`);
  }
  return {
    opened,
    link: opened.link,
    dataBase: sim.dataRegion.virtualBase,
    dataSize: sim.dataRegion.size,
    ...(sim.childPid === undefined ? {} : { childPid: sim.childPid }),
    wireBytes:
      opened.wireBytes?.bind(opened) ??
      (() => {
        const s = opened.link.stats();
        return s.bytesIn + s.bytesOut;
      }),
    close: async () => {
      try {
        await opened.close();
      } finally {
        await removeDir();
      }
    },
  };
}
