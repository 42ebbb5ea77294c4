import type { FastPathStats } from '@vmkd/vmm-memory';
import type { Summary } from './stats.js';

/**
 * Guest transports the benchmark can put the virtual kernel behind. `serial-unix-2proc` is
 * `serial-unix` in the deployment shape: the virtual kernel in a child process, as a VM would be.
 */
export type GuestKind = 'serial-paced' | 'serial-unix' | 'serial-unix-2proc' | 'serial-tcp' | 'kdrpc-vmx' | 'kdrpc-native';

/**
 * How vmkd's debugger reaches the guest: `direct` (the DebuggerSession on the guest transport's own
 * link, no router), or through the router to an endpoint: `routed-inproc` (an in-memory packet
 * pair), `routed-unix` / `routed-tcp` (the dbgeng-pipe endpoint, the debugger speaking KDCOM over
 * a real socket), `routed-gdb` (the GDB remote endpoint, an RSP client on loopback TCP).
 */
export type EndpointKind = 'direct' | 'routed-inproc' | 'routed-unix' | 'routed-tcp' | 'routed-gdb';

export interface Workload {
  /** Bytes read in the throughput phase. */
  readonly readBytes: number;
  /** GetVersion round trips timed for the latency figure. */
  readonly latencySamples: number;
  /** Break-ins timed. */
  readonly breakinSamples: number;
  /** Bytes read (and GetVersions sent) untimed first, so the JIT has compiled the hot paths. */
  readonly warmupBytes: number;
}

export interface CellResult {
  readonly id: string;
  readonly guest: GuestKind;
  readonly endpoint: EndpointKind;
  /** One line: what was measured. */
  readonly description: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  /** Why the cell was skipped or what failed. */
  readonly reason?: string;
  readonly workload: Workload;
  readonly attachMs?: number;
  /** GetVersion round trip, milliseconds; `samples` kept for the distribution chart. */
  readonly latencyMs?: Summary & { readonly samples: readonly number[] };
  /** Memory-read throughput in bytes of memory per second (payload, not wire bytes). */
  readonly readBytesPerSecond?: number;
  /** Rates of the read's individual calls (256 KiB each), bytes per second; p50 is the robust figure. */
  readonly readRate?: Summary & { readonly samples: readonly number[] };
  /** How many times the cell ran (interleaved with the others); figures merge all rounds. */
  readonly rounds?: number;
  /** Read requests (3,944-byte chunks) per second. */
  readonly roundTripsPerSecond?: number;
  readonly readSeconds?: number;
  /** Every byte read equalled the sim's formula. */
  readonly verified?: boolean;
  /** Bytes on the guest transport's wire (KDCOM frames or KDRPC bodies) during the read phase. */
  readonly wireBytes?: number;
  readonly breakinMs?: Summary & { readonly samples: readonly number[] };
  /** CPU seconds (user + system; the child process too where one is used) per MiB read. */
  readonly cpuSecondsPerMiB?: number;
  /** Highest resident set size seen while the cell ran, in bytes (this process + any child). */
  readonly peakRssBytes?: number;
  /** A memory fast path cell: what it served from the source and through KD (cells/memory-fast-path.ts). */
  readonly fastPath?: FastPathStats;
  /** Wall time the whole cell took, ms. */
  readonly elapsedMs: number;
}

export interface RawLimitResult {
  readonly id: string;
  readonly socket: 'unix' | 'tcp';
  /** 1: both ends in this process; 2: the replying (target) end in a child process. */
  readonly processes?: 1 | 2;
  readonly description: string;
  readonly roundTrips: number;
  readonly roundTripsPerSecond: number;
  /** The 3,944 memory bytes each round trip would carry, per second. */
  readonly payloadBytesPerSecond: number;
  /** Rates of 256 KiB batches (as the cells' read calls); p50 is the robust figure. */
  readonly payloadRate: Summary & { readonly samples: readonly number[] };
  readonly wireBytesPerRoundTrip: number;
  readonly cpuSecondsPerMiB: number;
}

export interface TargetCheck {
  readonly id: string;
  readonly title: string;
  /** The measured ratio and the one it must reach. */
  readonly value: number | undefined;
  readonly goal: number;
  /** How to show value and goal: a multiple (×) or a percentage. */
  readonly unit: 'ratio' | 'percent';
  readonly pass: boolean | undefined;
  /** How the ratio was computed, from which cells. */
  readonly detail: string;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly totalMemoryBytes: number;
  /** 1-minute load average when the run started and ended: other work on the machine skews figures. */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

/** The robust read rate of a cell: the median of its calls' rates (the overall rate if none). */
export function cellReadRate(cell: CellResult): number | undefined {
  return cell.readRate?.p50 ?? cell.readBytesPerSecond;
}

export function limitRate(limit: RawLimitResult): number {
  return limit.payloadRate.p50;
}

export interface BenchResult {
  readonly schema: 'vmkd-bench/1';
  readonly date: string;
  readonly mode: 'quick' | 'full';
  readonly command: string;
  readonly machine: MachineInfo;
  readonly durationMs: number;
  readonly cells: readonly CellResult[];
  readonly limits: readonly RawLimitResult[];
  readonly targets: readonly TargetCheck[];
}
