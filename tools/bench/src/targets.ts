import { LINE_BYTES_PER_SECOND, SERIAL_BAUD } from './matrix.js';
import { cellReadRate, limitRate, type CellResult, type GuestKind, type RawLimitResult, type TargetCheck } from './result-types.js';

function ok(cells: readonly CellResult[], id: string): CellResult | undefined {
  const cell = cells.find((c) => c.id === id);
  return cell?.status === 'ok' ? cell : undefined;
}

function check(id: string, title: string, goal: number, value: number | undefined, detail: string, unit: 'ratio' | 'percent' = 'ratio'): TargetCheck {
  return { id, title, goal, value, unit, pass: value === undefined || !Number.isFinite(value) ? undefined : value >= goal, detail };
}

const rateOf = (cell: CellResult | undefined): number | undefined => (cell === undefined ? undefined : cellReadRate(cell));
const ratio = (a: CellResult | undefined, b: CellResult | undefined): number | undefined => {
  const x = rateOf(a);
  const y = rateOf(b);
  return x === undefined || y === undefined ? undefined : x / y;
};

const fmt = (bytesPerSecond: number | undefined): string =>
  bytesPerSecond === undefined ? 'n/a' : bytesPerSecond >= 1e6 ? `${(bytesPerSecond / 1e6).toFixed(2)} MB/s` : `${(bytesPerSecond / 1e3).toFixed(2)} kB/s`;

/**
 * The targets, computed from this run's own cells (never from timings taken elsewhere):
 * acceleration over paced serial, paced-serial efficiency against the line rate, the router's cost
 * per transport, and the whole stack against the raw same-pattern socket limit, in one process and
 * in the deployment shape (target in a child process) against the matching limit. Rates are the
 * median of each cell's 256 KiB read calls (cellReadRate), which other load on a shared machine
 * disturbs least.
 */
export function computeTargets(cells: readonly CellResult[], limits: readonly RawLimitResult[]): TargetCheck[] {
  const targets: TargetCheck[] = [];
  const paced = ok(cells, 'serial-paced/direct');
  const accel = ok(cells, 'kdrpc-vmx/direct');
  targets.push(
    check(
      'acceleration',
      'Accelerated (KDRPC, in-process VMX) read throughput ÷ paced serial',
      1000,
      ratio(accel, paced),
      `kdrpc-vmx/direct ${fmt(rateOf(accel))} ÷ serial-paced/direct ${fmt(rateOf(paced))}`,
    ),
  );

  // Efficiency: the time the line needs for the bytes that actually crossed it, over the time taken.
  let efficiency: number | undefined;
  if (paced?.wireBytes !== undefined && paced.readSeconds !== undefined && paced.readSeconds > 0) {
    efficiency = paced.wireBytes / LINE_BYTES_PER_SECOND / paced.readSeconds;
  }
  targets.push(
    check(
      'serial-efficiency',
      `Paced serial efficiency (line time for the bytes on the wire ÷ time taken, ${SERIAL_BAUD.toLocaleString('en-US')} bit/s 8N1)`,
      0.9,
      efficiency,
      paced?.wireBytes === undefined
        ? 'serial-paced/direct did not run'
        : `${paced.wireBytes.toLocaleString('en-US')} wire bytes ÷ ${LINE_BYTES_PER_SECOND.toLocaleString('en-US')} B/s = ${(paced.wireBytes / LINE_BYTES_PER_SECOND).toFixed(3)} s ideal, ${paced.readSeconds?.toFixed(3)} s measured`,
      'percent',
    ),
  );

  const guests = [...new Set(cells.map((c) => c.guest))] as GuestKind[];
  for (const guest of guests) {
    const direct = ok(cells, `${guest}/direct`);
    const routed = ok(cells, `${guest}/routed-inproc`);
    if (cells.find((c) => c.id === `${guest}/routed-inproc`) === undefined) continue;
    targets.push(
      check(
        `router-cost/${guest}`,
        `Router cost, ${guest}: routed (in-process endpoint) ÷ direct`,
        0.7,
        ratio(routed, direct),
        `${guest}/routed-inproc ${fmt(rateOf(routed))} ÷ ${guest}/direct ${fmt(rateOf(direct))}`,
      ),
    );
  }

  const whole = ok(cells, 'serial-unix/direct');
  const raw = limits.find((l) => l.id === 'raw-unix');
  targets.push(
    check(
      'whole-stack',
      'Whole stack (direct, Unix socket) ÷ raw same-pattern Unix-socket limit',
      0.5,
      whole !== undefined && raw !== undefined ? (rateOf(whole) ?? Number.NaN) / limitRate(raw) : undefined,
      `serial-unix/direct ${fmt(rateOf(whole))} ÷ raw-unix ${fmt(raw === undefined ? undefined : limitRate(raw))}`,
    ),
  );

  // The same ratio in the deployment shape: the target in a process of its own (as a VM is), and
  // the limit likewise with its replying end in a child. Reported beside the one above, not instead.
  const whole2 = ok(cells, 'serial-unix-2proc/direct');
  const raw2 = limits.find((l) => l.id === 'raw-unix-2proc');
  targets.push(
    check(
      'whole-stack-2proc',
      'Whole stack, deployment shape (two processes; direct, Unix socket) ÷ raw same-pattern two-process Unix-socket limit',
      0.5,
      whole2 !== undefined && raw2 !== undefined ? (rateOf(whole2) ?? Number.NaN) / limitRate(raw2) : undefined,
      `serial-unix-2proc/direct ${fmt(rateOf(whole2))} ÷ raw-unix-2proc ${fmt(raw2 === undefined ? undefined : limitRate(raw2))}`,
    ),
  );
  return targets;
}
