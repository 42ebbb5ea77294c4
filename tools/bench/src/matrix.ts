import { harnessUnavailableReason } from '@vmkd/vmware-backdoor';
import { memoryFastPathCells } from './cells/memory-fast-path.js';
import type { CellSpec } from './run-cell.js';
import type { EndpointKind, GuestKind, Workload } from './result-types.js';

export const SERIAL_BAUD = 115_200;
/** 8N1: start bit, 8 data bits, stop bit. */
export const BITS_PER_BYTE = 10;
export const LINE_BYTES_PER_SECOND = SERIAL_BAUD / BITS_PER_BYTE;
const MiB = 1024 * 1024;

/**
 * The virtual kernel every cell measures: Windows 7 SP1 x64, 256 MiB, one CPU, no periodic
 * DbgPrint (its prints would be traffic the figures do not ask for).
 */
const SIM = 'build=win7&memory=256M&cpus=1&prints=0';

/** The guests, by URI: the bench assembles nothing itself; `@vmkd/connect` opens every one. */
export const GUEST_URIS: Record<GuestKind, string> = {
  'serial-paced': `sim://?via=serial&line=unix&baud=${SERIAL_BAUD}&${SIM}`,
  'serial-unix': `sim://?via=serial&line=unix&baud=0&${SIM}`,
  'serial-unix-2proc': `sim://?via=serial&line=unix&baud=0&process=child&${SIM}`,
  'serial-tcp': `sim://?via=serial&line=tcp&baud=0&${SIM}`,
  'kdrpc-vmx': `sim://?via=kdrpc&${SIM}`,
  'kdrpc-native': `sim://?via=kdrpc&backdoor=native&${SIM}`,
  kdnet: `sim://?via=kdnet&${SIM}`,
};

/** Guests whose virtual kernel runs in the bench's own process (the others run it in a child). */
const IN_PROCESS: ReadonlySet<GuestKind> = new Set<GuestKind>(['serial-paced', 'serial-unix', 'serial-tcp', 'kdrpc-vmx', 'kdnet']);
const SIM_MEMORY = 256 * 1024 * 1024;

/** The endpoints, by URI (`{tmp}`: a private directory per cell); `direct` has none. */
export const ENDPOINT_URIS: Record<EndpointKind, string | undefined> = {
  direct: undefined,
  'routed-inproc': 'inproc://bench',
  'routed-unix': 'unix:{tmp}/kd.sock',
  'routed-tcp': 'tcp://127.0.0.1:0',
  // {udp}: a free loopback UDP port; vmkd's debugger listens there as a KDNET debugger host.
  'routed-kdnet': 'kdnet://127.0.0.1:{udp}?key=1.2.3.4',
  'routed-gdb': 'gdb://127.0.0.1:0',
};

export interface PlannedCell extends CellSpec {
  /** Set when the cell cannot run here; it is reported, not run. */
  readonly skip?: string;
  /** Rough seconds one round takes, for the progress bar. */
  readonly weight: number;
  /**
   * Rounds to run, interleaved with the other cells (round-robin), so that a burst of other load
   * on a shared machine hits every cell a little rather than one cell a lot.
   */
  readonly rounds: number;
}

export interface MatrixOptions {
  readonly quick: boolean;
  /** Override the MiB read by the fast (unpaced) cells. */
  readonly readMiB?: number;
}

const GUEST_TEXT: Record<GuestKind, string> = {
  'serial-paced': `virtual kernel behind a ${SERIAL_BAUD.toLocaleString('en-US')} bit/s paced serial line (KDCOM over a Unix socket)`,
  'serial-unix': 'virtual kernel behind an unpaced serial line (KDCOM over a Unix socket)',
  'serial-unix-2proc': 'virtual kernel in a child process behind an unpaced serial line (KDCOM over a Unix socket), as a VM is a process of its own',
  'serial-tcp': 'virtual kernel behind an unpaced serial line (KDCOM over loopback TCP)',
  'kdrpc-vmx': 'virtual kernel behind KDRPC (GuestRPC to the in-process emulated VMX)',
  'kdrpc-native': 'virtual kernel behind KDRPC through native x86-64 stubs in a child under the ptrace harness',
  kdnet: 'virtual kernel behind KDNET (AES-256-CBC, HMAC-SHA256) over loopback UDP',
};

const ENDPOINT_TEXT: Record<EndpointKind, string> = {
  direct: 'debugger on the guest link, no router',
  'routed-inproc': 'router → in-process endpoint → debugger',
  'routed-unix': 'router → dbgeng-pipe endpoint on a Unix socket → debugger (KDCOM)',
  'routed-tcp': 'router → dbgeng-pipe endpoint on loopback TCP → debugger (KDCOM)',
  'routed-kdnet': 'router → KDNET endpoint on loopback UDP → debugger (KDNET host role)',
  'routed-gdb': 'router → GDB remote endpoint (its own KD debugger) → RSP client on loopback TCP',
};

/**
 * Which endpoints each guest is measured with. Pruned to the comparisons that say something: every
 * transport direct and routed in-process (the router's own cost); the socket endpoints where they
 * add a real hop worth seeing; the paced line only where its small workload tells something new.
 */
function endpointsFor(guest: GuestKind, quick: boolean): EndpointKind[] {
  const all: EndpointKind[] = ['direct', 'routed-inproc', 'routed-unix', 'routed-tcp', 'routed-kdnet', 'routed-gdb'];
  switch (guest) {
    case 'serial-paced':
      // 115,200 bit/s: the line is the cost whatever the endpoint; the deployable shape is enough.
      return quick ? ['direct'] : ['direct', 'routed-unix'];
    case 'serial-unix':
    case 'kdrpc-vmx':
      return quick ? ['direct', 'routed-inproc', 'routed-unix'] : all;
    case 'kdnet':
      return quick ? ['direct', 'routed-unix'] : all;
    case 'serial-tcp':
      return quick ? ['direct'] : ['direct', 'routed-inproc', 'routed-unix', 'routed-tcp', 'routed-kdnet'];
    case 'serial-unix-2proc':
      return quick ? ['direct'] : ['direct', 'routed-inproc', 'routed-unix'];
    case 'kdrpc-native':
      return quick ? ['direct'] : ['direct', 'routed-inproc', 'routed-unix'];
  }
}

export function workloadFor(guest: GuestKind, options: MatrixOptions): Workload {
  const { quick } = options;
  if (guest === 'serial-paced') {
    // 115,200 bit/s moves about 11 KB/s: a small read says all there is to say about a line.
    // A single step is a state change and a continue (~130 bytes on the wire): about 90 a second.
    return { readBytes: quick ? 16 * 1024 : 32 * 1024, latencySamples: quick ? 10 : 25, breakinSamples: quick ? 2 : 5, warmupBytes: 0, steps: quick ? 0 : 200, breakpointSamples: quick ? 0 : 5, readyRuns: quick ? 0 : 1 };
  }
  const fast = (options.readMiB ?? (quick ? 4 : 32)) * MiB;
  if (guest === 'kdrpc-native') {
    // Every backdoor instruction is a ptrace round trip: a few MiB are plenty.
    return {
      readBytes: Math.max(MiB, Math.round(fast / 4 / MiB) * MiB),
      latencySamples: quick ? 100 : 300,
      breakinSamples: quick ? 3 : 10,
      warmupBytes: 256 * 1024,
      steps: quick ? 20 : 1000,
      breakpointSamples: quick ? 3 : 50,
      readyRuns: 1,
    };
  }
  return {
    readBytes: fast,
    latencySamples: quick ? 300 : 2000,
    breakinSamples: quick ? 5 : 20,
    warmupBytes: 512 * 1024,
    steps: quick ? 200 : 10_000,
    breakpointSamples: quick ? 20 : 200,
    readyRuns: quick ? 1 : 3,
  };
}

function weightOf(guest: GuestKind, w: Workload): number {
  const rate = guest === 'serial-paced' ? LINE_BYTES_PER_SECOND * 0.95 : guest === 'kdrpc-native' ? 1.5e6 : 12e6;
  const perCall = guest === 'serial-paced' ? 0.02 : guest === 'kdrpc-native' ? 0.003 : 0.0002;
  // The two-process cells start a Node child (through tsx from source): about a second.
  return (guest === 'serial-unix-2proc' ? 1.3 : 0.3) + w.readBytes / rate + (w.latencySamples + w.steps * 2 + w.breakpointSamples * 5) * perCall + w.breakinSamples * 0.04 + w.readyRuns * 0.2;
}

export const GUEST_KINDS: readonly GuestKind[] = ['serial-paced', 'serial-unix', 'serial-unix-2proc', 'serial-tcp', 'kdrpc-vmx', 'kdrpc-native', 'kdnet'];

/** The cells of a run, in the order they run. `only` keeps cells whose id or guest kind is listed. */
export function planMatrix(options: MatrixOptions & { readonly only?: readonly string[] }): PlannedCell[] {
  const cells: PlannedCell[] = [];
  const nativeSkip = harnessUnavailableReason();
  for (const guest of GUEST_KINDS) {
    for (const endpoint of endpointsFor(guest, options.quick)) {
      const id = `${guest}/${endpoint}`;
      if (options.only !== undefined && !options.only.some((o) => o === id || o === guest || o === endpoint)) continue;
      const workload = workloadFor(guest, options);
      cells.push({
        guest,
        endpoint,
        workload,
        description: `${GUEST_TEXT[guest]}; ${ENDPOINT_TEXT[endpoint]}`,
        guestUri: GUEST_URIS[guest],
        endpointUri: ENDPOINT_URIS[endpoint],
        timeoutMs: guest === 'serial-paced' ? 15_000 : 5_000,
        ...(IN_PROCESS.has(guest) ? { inProcessSim: { memorySize: SIM_MEMORY } } : {}),
        weight: weightOf(guest, workload),
        // The paced line and the ptrace harness are slow and steady; one round says it all.
        rounds: guest === 'serial-paced' || guest === 'kdrpc-native' ? 1 : options.quick ? 2 : 3,
        ...(guest === 'kdrpc-native' && nativeSkip !== undefined ? { skip: nativeSkip } : {}),
      });
    }
  }
  cells.push(...memoryFastPathCells(options, { guestUri: GUEST_URIS['serial-unix'], workload: { ...workloadFor('serial-unix', options), steps: 0, breakpointSamples: 0, readyRuns: 0 }, endpointText: ENDPOINT_TEXT }));
  return cells;
}

export { GUEST_TEXT, ENDPOINT_TEXT };
