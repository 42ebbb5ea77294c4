import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSocketByteLink } from '@vmkd/byte-links';
import { createDebuggerSession, createKdcomLink, createTargetSession, type TargetActivity } from '@vmkd/kd-protocol';
import { createSimTarget, fillExpected } from '@vmkd/sim-target';
import type { RecoveryResult } from '../result-types.js';
import { relayWithFaults, type LineFaults } from './line-fault-relay.js';

export interface RecoveryOptions {
  readonly reads: number;
  /** Bytes per read (the issue's 4,000: one KD request each). */
  readonly readBytes?: number;
  readonly faults?: LineFaults;
  readonly progress?: (fraction: number) => void;
}

/** Issue 15's line: 1 byte in 10,000 corrupted, 1 in 20,000 dropped, both ways. */
export const ISSUE_FAULTS: LineFaults = { corrupt: 1 / 10_000, drop: 1 / 20_000, seed: 0x5eed };

interface Run {
  seconds: number;
  faults: { corrupted: number; dropped: number };
  intact: number;
  lost: number;
  duplicated: number;
}

function listenOnce(path: string): Promise<{ server: Server; accepted: Promise<Socket> }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    server.once('error', reject);
    server.listen(path, () => resolve({ server, accepted }));
  });
}

function dial(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * One pass: vmkd's debugger (KDCOM, target-facing link with its default retransmission) and the
 * virtual kernel's target session (KDCOM, debugger-facing link) on real Unix sockets through a
 * relay that damages bytes both ways while the reads run. Each read is verified against the
 * kernel's formula; the links' packet counts and the target's served requests tell whether any
 * request or reply was lost or delivered twice.
 */
async function pass(options: RecoveryOptions, faulty: boolean, onRead: (i: number) => void): Promise<Run> {
  const size = options.readBytes ?? 4000;
  const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-faults-'));
  const sockets: Socket[] = [];
  const servers: Server[] = [];
  const sim = createSimTarget({ build: 'win7-sp1-x64', memorySize: 64 * 1024 * 1024, cpus: 1, printIntervalMs: 0 });
  try {
    const toTarget = await listenOnce(join(dir, 'target.sock'));
    const toRelay = await listenOnce(join(dir, 'relay.sock'));
    servers.push(toTarget.server, toRelay.server);
    const debuggerSocket = await dial(join(dir, 'relay.sock'));
    const relayDebuggerSide = await toRelay.accepted;
    const relayTargetSide = await dial(join(dir, 'target.sock'));
    const targetSocket = await toTarget.accepted;
    sockets.push(debuggerSocket, relayDebuggerSide, relayTargetSide, targetSocket);
    const relay = relayWithFaults(relayDebuggerSide, relayTargetSide, options.faults ?? ISSUE_FAULTS);

    const debuggerLink = createKdcomLink(createSocketByteLink(debuggerSocket, 'debugger'), { role: 'target-facing' });
    const targetLink = createKdcomLink(createSocketByteLink(targetSocket, 'target'), { role: 'debugger-facing' });
    const target = createTargetSession(targetLink, sim);
    let served = 0;
    const sub = target.activity$.subscribe((a: TargetActivity) => {
      if (a.kind === 'request') served++;
    });
    const session = createDebuggerSession(debuggerLink, { timeoutMs: 120_000 });
    try {
      await session.attach({ timeoutMs: 30_000 });
      const before = { dbg: debuggerLink.stats(), tgt: targetLink.stats(), served };
      const region = sim.layout.dataRegion;
      const span = Number(region.size < 64n * 1048576n ? region.size : 64n * 1048576n) - size;
      const expected = new Uint8Array(size);
      relay.setActive(faulty);
      let intact = 0;
      const t0 = performance.now();
      for (let i = 0; i < options.reads; i++) {
        const address = region.virtualBase + BigInt((i * size) % span);
        const got = await session.readVirtual(address, size);
        fillExpected(address, expected);
        if (got.bytesRead === size && Buffer.compare(Buffer.from(got.data.buffer, got.data.byteOffset, size), Buffer.from(expected.buffer)) === 0) intact++;
        onRead(i);
      }
      const seconds = (performance.now() - t0) / 1000;
      relay.setActive(false);
      // Let the last ACKs (and any retransmission still in flight) land before counting.
      await sleep(500);
      const dbg = debuggerLink.stats();
      const tgt = targetLink.stats();
      const requestsSent = dbg.packetsOut - before.dbg.packetsOut;
      const requestsServed = served - before.served;
      const repliesSent = tgt.packetsOut - before.tgt.packetsOut;
      const repliesTaken = dbg.packetsIn - before.dbg.packetsIn;
      return {
        seconds,
        faults: { ...relay.counts },
        intact,
        lost: Math.max(0, requestsSent - requestsServed) + Math.max(0, repliesSent - repliesTaken),
        duplicated: Math.max(0, requestsServed - requestsSent) + Math.max(0, repliesTaken - repliesSent),
      };
    } finally {
      sub.unsubscribe();
      await session.close();
      await target.close();
      await debuggerLink.close();
      await targetLink.close();
    }
  } finally {
    for (const s of sockets) s.destroy();
    for (const server of servers) await new Promise<void>((r) => server.close(() => r()));
    sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Recovery under line faults (issue 15, workload 5): the same reads on a clean line and on one
 * that damages bytes both ways; (faulty − clean) ÷ faults is what one fault costs. Nothing may be
 * lost or delivered twice, and every read must arrive intact.
 */
export async function runLineFaultRecovery(options: RecoveryOptions): Promise<RecoveryResult> {
  const size = options.readBytes ?? 4000;
  const faults = options.faults ?? ISSUE_FAULTS;
  const base = {
    id: 'serial-unix (KDCOM, faulty relay)',
    description: `KDCOM over Unix sockets through a relay corrupting 1 byte in ${Math.round(1 / faults.corrupt).toLocaleString('en-US')} and dropping 1 in ${Math.round(1 / faults.drop).toLocaleString('en-US')}, both ways; ${options.reads.toLocaleString('en-US')} reads of ${size.toLocaleString('en-US')} bytes, each verified; vmkd's debugger link with its default retransmission, the target's as Windows' KDCOM`,
    reads: options.reads,
    readBytes: size,
  };
  try {
    const clean = await pass(options, false, (i) => options.progress?.((0.3 * (i + 1)) / options.reads));
    const faulty = await pass(options, true, (i) => options.progress?.(0.3 + (0.7 * (i + 1)) / options.reads));
    const count = faulty.faults.corrupted + faulty.faults.dropped;
    const exact = faulty.intact === options.reads && faulty.lost === 0 && faulty.duplicated === 0 && clean.intact === options.reads;
    return {
      ...base,
      status: exact ? 'ok' : 'failed',
      ...(exact ? {} : { reason: `ERR_BENCH_VERIFY_FAILED: ${faulty.intact}/${options.reads} reads intact, ${faulty.lost} lost, ${faulty.duplicated} delivered twice` }),
      cleanSeconds: clean.seconds,
      faultySeconds: faulty.seconds,
      faults: faulty.faults,
      perFaultMs: count === 0 ? 0 : ((faulty.seconds - clean.seconds) * 1000) / count,
      intactReads: faulty.intact,
      lost: faulty.lost,
      duplicated: faulty.duplicated,
    };
  } catch (error) {
    return { ...base, status: 'failed', reason: error instanceof Error ? error.message : String(error) };
  }
}
