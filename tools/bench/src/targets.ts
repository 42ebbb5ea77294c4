import { LINE_BYTES_PER_SECOND, SERIAL_BAUD } from './matrix.js';
import type { CellResult, GuestKind, RawLimitResult, TargetCheck } from './result-types.js';

function ok(cells: readonly CellResult[], id: string): CellResult | undefined {
  const cell = cells.find((c) => c.id === id);
  return cell?.status === 'ok' ? cell : undefined;
}

function check(id: string, title: string, goal: number, value: number | undefined, detail: string): TargetCheck {
  return { id, title, goal, value, pass: value === undefined || !Number.isFinite(value) ? undefined : value >= goal, detail };
}

const fmt = (bytesPerSecond: number | undefined): string =>
  bytesPerSecond === undefined ? 'n/a' : bytesPerSecond >= 1e6 ? `${(bytesPerSecond / 1e6).toFixed(2)} MB/s` : `${(bytesPerSecond / 1e3).toFixed(2)} kB/s`;

/**
 * The targets, computed from this run's own cells (never from timings taken elsewhere):
 * acceleration over paced serial, paced-serial efficiency against the line rate, the router's cost
 * per transport, and the whole stack against the raw same-pattern socket limit.
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
      paced?.readBytesPerSecond !== undefined && accel?.readBytesPerSecond !== undefined ? accel.readBytesPerSecond / paced.readBytesPerSecond : undefined,
      `kdrpc-vmx/direct ${fmt(accel?.readBytesPerSecond)} ÷ serial-paced/direct ${fmt(paced?.readBytesPerSecond)}`,
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
        direct?.readBytesPerSecond !== undefined && routed?.readBytesPerSecond !== undefined ? routed.readBytesPerSecond / direct.readBytesPerSecond : undefined,
        `${guest}/routed-inproc ${fmt(routed?.readBytesPerSecond)} ÷ ${guest}/direct ${fmt(direct?.readBytesPerSecond)}`,
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
      whole?.readBytesPerSecond !== undefined && raw !== undefined ? whole.readBytesPerSecond / raw.payloadBytesPerSecond : undefined,
      `serial-unix/direct ${fmt(whole?.readBytesPerSecond)} ÷ raw-unix ${fmt(raw?.payloadBytesPerSecond)}`,
    ),
  );
  return targets;
}
