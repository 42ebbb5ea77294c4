import { fastPathOf, formatFastPathStats, type FastPathStats } from '@vmkd/vmm-memory';
import type { OpenedLink } from '@vmkd/kd-protocol';
import type { EndpointKind, Workload } from '../result-types.js';

/**
 * The memory fast path as bench cells (issue 14): the unpaced serial guest of `serial-unix`, its
 * kernel's RAM exposed as a file (`ram=`, as QEMU's memory-backend-file is), routed to an
 * endpoint. Reads are answered from the file by the fast path in front of the guest link; the same
 * route without it is the `serial-unix/<endpoint>` cell, measured in the same run. With the guest
 * hop gone, the figure to hold them against is the endpoint hop's own raw limit (`raw-unix`):
 * KD's 3,944-byte packets through the router and the endpoint still bound them.
 */
export const MEMORY_FAST_PATH_VARIANT = 'memory';

/** What the cells share with the `serial-unix` cells they are compared with (passed in: the matrix owns them). */
export interface SerialUnixCell {
  readonly guestUri: string;
  readonly workload: Workload;
  readonly endpointText: Readonly<Record<EndpointKind, string>>;
}

/** Both the in-process endpoint (the router's own cost) and the KDCOM one on a Unix socket (the hop raw-unix bounds). */
const ENDPOINTS: readonly [EndpointKind, string][] = [
  ['routed-inproc', 'inproc://bench'],
  ['routed-unix', 'unix:{tmp}/kd.sock'],
];

/** The matrix options the cells read (matrix.ts passes its own; not imported from there, which imports this). */
interface CellOptions {
  readonly quick: boolean;
  readonly only?: readonly string[];
}

/** The cells, for planMatrix (PlannedCell-shaped); `only` as there (a cell id, `serial-unix+memory`, or an endpoint kind). */
export function memoryFastPathCells(options: CellOptions, base: SerialUnixCell) {
  const guestId = `serial-unix+${MEMORY_FAST_PATH_VARIANT}`;
  const { workload } = base;
  return ENDPOINTS
    .filter(([endpoint]) => options.only === undefined || options.only.some((o) => o === `${guestId}/${endpoint}` || o === guestId || o === endpoint || o === MEMORY_FAST_PATH_VARIANT))
    .map(([endpoint, endpointUri]) => ({
      id: `${guestId}/${endpoint}`,
      guest: 'serial-unix' as const,
      endpoint,
      workload,
      description: `virtual kernel behind an unpaced serial line (KDCOM over a Unix socket), its RAM in a file read by the memory fast path (?memory=); ${base.endpointText[endpoint]}`,
      // `{tmp}`: a private directory for the cell (in /dev/shm where there is one), removed after it.
      guestUri: `${base.guestUri}&ram={tmp}/sim.ram`,
      endpointUri,
      timeoutMs: 5_000,
      // Writing the 256 MiB RAM file when the kernel starts is most of it.
      weight: 2 + workload.readBytes / 40e6 + workload.latencySamples * 0.0002 + workload.breakinSamples * 0.04,
      rounds: options.quick ? 2 : 3,
      memoryFastPath: true,
    }));
}

/**
 * After the timed read: the fast path's counters, and a failure if any of the read went through
 * KD (then the cell would not measure what it says).
 */
export function checkFastPath(opened: OpenedLink, readBytes: number): FastPathStats {
  const fastPath = fastPathOf(opened);
  if (fastPath === undefined) throw new Error('the guest has no memory fast path (?memory= / ram= not applied)');
  const stats = fastPath.fastPathStats();
  if (stats.bytesFromSource < readBytes || stats.bytesThroughKd > 0) {
    throw new Error(`the fast path did not serve the whole read of ${readBytes} bytes: ${formatFastPathStats(stats)}`);
  }
  return stats;
}
