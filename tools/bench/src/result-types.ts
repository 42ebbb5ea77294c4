import type { FastPathStats } from '@vmkd/vmm-memory';
import type { Summary } from './stats.js';

/**
 * Guest transports the benchmark can put the virtual kernel behind. `serial-unix-2proc` is
 * `serial-unix` in the deployment shape: the virtual kernel in a child process, as a VM would be.
 */
export type GuestKind = 'serial-paced' | 'serial-unix' | 'serial-unix-2proc' | 'serial-tcp' | 'kdrpc-vmx' | 'kdrpc-native' | 'kdnet';

/**
 * How vmkd's debugger reaches the guest: `direct` (the DebuggerSession on the guest transport's own
 * link, no router), or through the router to an endpoint: `routed-inproc` (an in-memory packet
 * pair), `routed-unix` / `routed-tcp` (the dbgeng-pipe endpoint, the debugger speaking KDCOM over
 * a real socket), `routed-kdnet` (the KDNET endpoint, vmkd's debugger in the KDNET host role),
 * `routed-gdb` (the GDB remote endpoint, an RSP client on loopback TCP).
 */
export type EndpointKind = 'direct' | 'routed-inproc' | 'routed-unix' | 'routed-tcp' | 'routed-kdnet' | 'routed-gdb';

export interface Workload {
  /** Bytes read in the throughput phase. */
  readonly readBytes: number;
  /** GetVersion round trips timed for the latency figure. */
  readonly latencySamples: number;
  /** Break-ins timed. */
  readonly breakinSamples: number;
  /** Bytes read (and GetVersions sent) untimed first, so the JIT has compiled the hot paths. */
  readonly warmupBytes: number;
  /** TraceFlag single steps timed (what `t`, `p` and `wt` cost); 0 for none. */
  readonly steps: number;
  /** Breakpoint round trips timed (continue → breakpoint hit → state change); 0 for none. */
  readonly breakpointSamples: number;
  /** Attach-to-ready runs (symbol-loading walk); 0 for none. */
  readonly readyRuns: number;
}

/**
 * What a debugger does before it can load symbols, timed from connect: GetVersion, the
 * KDDEBUGGER_DATA64 block, a walk of PsLoadedModuleList, each module's PE header and debug
 * directory (the CodeView record naming its PDB).
 */
export interface AttachReady {
  /** Connect → ready, ms (median over the runs). */
  readonly ms: number;
  readonly runs: readonly number[];
  readonly modules: number;
  /** KD requests one walk takes. */
  readonly requests: number;
  /** Every module's debug directory named a PDB (RSDS record found). */
  readonly pdbs: number;
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
  /** Single steps per second over `workload.steps` TraceFlag steps. */
  readonly stepsPerSecond?: number;
  /** Continue → breakpoint hit → state change at the debugger, ms. */
  readonly breakpointMs?: Summary & { readonly samples: readonly number[] };
  readonly attachReady?: AttachReady;
  /** Overall read rate of each round (bytes ÷ wall time of the read), for the spread. */
  readonly roundRates?: readonly number[];
  /** GetVersion round trip p50 of each round, ms. */
  readonly roundLatencyP50Ms?: readonly number[];
  /** The virtual kernel's clock tick while running, ms (a breakpoint is reached on a tick). */
  readonly simTickMs?: number;
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
  /** Overall rate of each measurement (one per round, interleaved with the cells), for the spread. */
  readonly roundRates?: readonly number[];
}

export interface TargetCheck {
  readonly id: string;
  readonly title: string;
  /** The measured figure (the median over rounds where there are rounds) and the one it must reach. */
  readonly value: number | undefined;
  readonly goal: number;
  /** `at-least` (value ≥ goal, the default) or `at-most` (value ≤ goal). */
  readonly direction?: 'at-least' | 'at-most';
  /** The figure per round (interleaved measurements): its lowest and highest. */
  readonly range?: { readonly min: number; readonly max: number; readonly n: number };
  /** How to show value and goal: a multiple (×), a percentage or microseconds. */
  readonly unit: 'ratio' | 'percent' | 'us' | 'ms' | 'mib';
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

/** One vmkd process of a workload, with its resident-set high-water mark. */
export interface ProcessRss {
  /** What the process is: `guest (virtual kernel)`, `route`, `debugger (bench)`. */
  readonly role: string;
  readonly peakRssBytes: number | undefined;
}

/** Full dump of guest-physical memory through a route, with the peak RSS of every vmkd process. */
export interface DumpResult {
  readonly id: string;
  readonly description: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly bytes: number;
  readonly seconds?: number;
  /** bytes ÷ wall time. */
  readonly bytesPerSecond?: number;
  /** Every formula byte (RAM above the kernel's reserve) equalled the virtual kernel's formula. */
  readonly verified?: boolean;
  readonly verifiedBytes?: number;
  readonly processes?: readonly ProcessRss[];
}

/** Recovery under line faults: the same reads on a clean and on a faulty line. */
export interface RecoveryResult {
  readonly id: string;
  readonly description: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly reads: number;
  readonly readBytes: number;
  readonly cleanSeconds?: number;
  readonly faultySeconds?: number;
  readonly faults?: { readonly corrupted: number; readonly dropped: number };
  /** (faulty − clean) ÷ faults, ms. */
  readonly perFaultMs?: number;
  readonly intactReads?: number;
  /** Requests the debugger sent that the target never served, and replies sent but never taken. */
  readonly lost?: number;
  /** Requests served twice, replies taken twice. */
  readonly duplicated?: number;
}

/** radare2 dumping memory through a route, beside vmkd's own client on the same route. */
export interface Radare2Result {
  readonly id: string;
  readonly description: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly bytes: number;
  readonly radare2BytesPerSecond?: number;
  readonly vmkdBytesPerSecond?: number;
  /** radare2's bytes equal vmkd's read of the same range. */
  readonly matched?: boolean;
}

/** A cell another part of vmkd adds (gdb endpoint, memory fast path): named figures. */
export interface ExtraCellResult {
  readonly id: string;
  readonly description: string;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason?: string;
  readonly figures: readonly { readonly name: string; readonly value: number; readonly unit: string }[];
}

/**
 * The one figure the README leads with: the deployable shape (a real debugger's path: guest →
 * router → KDCOM endpoint on a Unix socket), as an overall rate (bytes ÷ wall time), with the
 * spread of its rounds, and the same figure for paced serial beside it.
 */
export interface Headline {
  readonly cell: string;
  readonly bytesPerSecond: number | undefined;
  readonly range?: { readonly min: number; readonly max: number; readonly n: number };
  readonly pacedCell: string;
  readonly pacedBytesPerSecond: number | undefined;
  readonly acceleration: number | undefined;
}

/** The overall read rate of a cell: all bytes ÷ all read time (what the headline uses). */
export function cellOverallRate(cell: CellResult): number | undefined {
  return cell.readBytesPerSecond;
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
  readonly headline?: Headline;
  readonly dumps?: readonly DumpResult[];
  readonly recovery?: readonly RecoveryResult[];
  readonly radare2?: readonly Radare2Result[];
  readonly extra?: readonly ExtraCellResult[];
}
