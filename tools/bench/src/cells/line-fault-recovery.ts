import { measureKdcomRecovery } from '@vmkd/sim-target/bench';
import type { RecoveryResult } from '../result-types.js';

export interface RecoveryOptions {
  readonly reads: number;
  /** Bytes per read (the 4,000: one KD request each). */
  readonly readBytes?: number;
  readonly progress?: (fraction: number) => void;
}

/** Issue 15's line: 1 byte in 10,000 corrupted, 1 in 20,000 dropped, both ways. */
const CORRUPT_ONE_IN = 10_000;
const DROP_ONE_IN = 20_000;

/**
 * The two lines the workload measures. vmkd's debugger always retransmits adaptively; what
 * differs is the target: the virtual kernel with vmkd's adaptive timeouts (a vmkd-to-vmkd socket
 * line), and the target as Windows' KDCOM behaves, with its fixed timeouts, which a host cannot
 * shorten: a lost ACK toward such a target costs its own timeout.
 */
const LINES = [
  { id: 'serial-unix (faulty line, adaptive both ends)', targetRetransmit: 'adaptive', target: 'the virtual kernel retransmitting adaptively too' },
  { id: 'serial-unix (faulty line, target as Windows)', targetRetransmit: 'fixed', target: "the target with Windows' fixed KDCOM timeouts" },
] as const;

/**
 * Recovery under line faults (issue 15, workload 5), measured by the virtual kernel's own
 * `measureKdcomRecovery` (one owner of the measurement): the same reads on a clean line and on one
 * that damages bytes both ways; (faulty − clean) ÷ faults is what one fault costs. Nothing may be
 * lost or delivered twice, and every read must arrive intact.
 */
export async function runLineFaultRecovery(options: RecoveryOptions): Promise<RecoveryResult[]> {
  const size = options.readBytes ?? 4000;
  const results: RecoveryResult[] = [];
  for (const [index, line] of LINES.entries()) {
    const base = {
      id: line.id,
      description: `KDCOM over Unix sockets through a relay corrupting 1 byte in ${CORRUPT_ONE_IN.toLocaleString('en-US')} and dropping 1 in ${DROP_ONE_IN.toLocaleString('en-US')}, both ways; ${options.reads.toLocaleString('en-US')} reads of ${size.toLocaleString('en-US')} bytes, each verified; vmkd's debugger retransmitting adaptively, ${line.target}`,
      reads: options.reads,
      readBytes: size,
    };
    try {
      const r = await measureKdcomRecovery({
        reads: options.reads,
        size,
        corruptOneIn: CORRUPT_ONE_IN,
        dropOneIn: DROP_ONE_IN,
        retransmit: 'adaptive',
        targetRetransmit: line.targetRetransmit,
        progress: (f) => options.progress?.((index + f) / LINES.length),
      });
      const exact = r.intact === r.reads && r.lost === 0 && r.duplicated === 0;
      results.push({
        ...base,
        status: exact ? 'ok' : 'failed',
        ...(exact ? {} : { reason: `ERR_BENCH_VERIFY_FAILED: ${r.intact}/${r.reads} reads intact, ${r.lost} lost, ${r.duplicated} delivered twice` }),
        cleanSeconds: r.cleanWallMs / 1000,
        faultySeconds: r.wallMs / 1000,
        faults: { corrupted: r.corrupted, dropped: r.dropped },
        perFaultMs: r.msPerFault,
        intactReads: r.intact,
        lost: r.lost,
        duplicated: r.duplicated,
      });
    } catch (error) {
      results.push({ ...base, status: 'failed', reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}
