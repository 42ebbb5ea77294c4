/**
 * Recovery from line faults (issue 15, workload 5): serial KDCOM between a DebuggerSession and a
 * TargetSession over real Unix sockets, through a relay that corrupts 1 byte in 10,000 and drops
 * 1 in 20,000, both ways; 1,000 reads of 4,000 bytes, each verified byte for byte. The same reads
 * run once on a clean relay; the difference divided by the faults injected is the cost of one fault.
 *
 *   npm run bench:recovery -w @vmkd/kd-protocol                      # adaptive timeouts (sockets)
 *   npm run bench:recovery -w @vmkd/kd-protocol -- --mode fixed --reads 100   # legacy UART timeouts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDebuggerSession, createKdcomLink, createTargetSession, decodeKdcomFrames, type LinkStats, type TargetActivity } from '../src/index.js';
import { createTestBackend, KERNEL_BASE, patternByte } from '../test/session-test-backend.js';
import { socketByteLink } from '../test/socket-byte-link.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const MODE = arg('mode', 'adaptive') as 'adaptive' | 'fixed';
const READS = Number(arg('reads', '1000'));
const SIZE = 4000;
const CORRUPT = 1 / 10_000;
const DROP = 1 / 20_000;
const REGION = 4 * 1024 * 1024;

/** Deterministic PRNG (a run replays). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

function listen(path: string): Promise<{ server: Server; next: () => Promise<Socket> }> {
  return new Promise((resolve) => {
    const waiting: ((s: Socket) => void)[] = [];
    const server = createServer((s) => waiting.shift()?.(s));
    server.listen(path, () => resolve({ server, next: () => new Promise<Socket>((r) => waiting.push(r)) }));
  });
}

function dial(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

interface RunResult {
  seconds: number;
  faults: { corrupted: number; dropped: number };
  reads: number;
  bad: number;
  requestsSent: number;
  requestsServed: number;
  repliesSent: number;
  repliesTaken: number;
  debuggerLink: LinkStats;
  targetLink: LinkStats;
}

async function run(faulty: boolean): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kd-recovery-'));
  const target = await listen(join(dir, 'target.sock'));
  const relay = await listen(join(dir, 'relay.sock'));
  const random = rng(0x5eed);
  const faults = { corrupted: 0, dropped: 0 };
  let inject = false;
  // The relay: bytes both ways, some corrupted, some dropped, once `inject` is on.
  const pipe = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (!inject) {
        to.write(chunk);
        return;
      }
      const out = Buffer.allocUnsafe(chunk.length);
      let n = 0;
      for (const b of chunk) {
        const r = random();
        if (r < CORRUPT) {
          out[n++] = b ^ (1 + Math.floor(random() * 255));
          faults.corrupted++;
        } else if (r < CORRUPT + DROP) {
          faults.dropped++;
        } else {
          out[n++] = b;
        }
      }
      if (process.env.TRACE_RECOVERY) {
        const kinds = decodeKdcomFrames(out.subarray(0, n)).map((e) => (e.kind === 'control' ? `C${e.type}:${e.id.toString(16)}` : e.kind === 'data' ? `D${e.type}:${e.id.toString(16)}` : e.kind === 'bad-frame' ? `bad(${e.reason})` : e.kind));
        console.error(from === relayDebuggerSide ? 'dbg->tgt' : 'tgt->dbg', n, kinds.join(' '));
      }
      to.write(out.subarray(0, n));
    });
  };
  const relayIn = relay.next();
  const debuggerSocket = await dial(join(dir, 'relay.sock'));
  const relayDebuggerSide = await relayIn;
  const targetIn = target.next();
  const relayTargetSide = await dial(join(dir, 'target.sock'));
  const targetSocket = await targetIn;
  pipe(relayDebuggerSide, relayTargetSide);
  pipe(relayTargetSide, relayDebuggerSide);

  const debuggerLink = createKdcomLink(socketByteLink(debuggerSocket, 'debugger'), { role: 'target-facing', retransmit: MODE });
  const targetLink = createKdcomLink(socketByteLink(targetSocket, 'target'), { role: 'debugger-facing', retransmit: MODE });
  const backend = createTestBackend(1);
  backend.map(KERNEL_BASE, REGION);
  const targetSession = createTargetSession(targetLink, backend);
  let requestsServed = 0;
  targetSession.activity$.subscribe((a: TargetActivity) => {
    if (a.kind === 'request') requestsServed++;
  });
  const session = createDebuggerSession(debuggerLink, { timeoutMs: Number(arg('timeout', '120000')) });
  await session.attach({ breakIn: 'never', timeoutMs: 30_000 });
  const before = { dbg: debuggerLink.stats(), tgt: targetLink.stats(), served: requestsServed };

  inject = faulty;
  let bad = 0;
  const start = performance.now();
  for (let i = 0; i < READS; i++) {
    const address = KERNEL_BASE + BigInt((i * SIZE) % (REGION - SIZE));
    const got = await session.readVirtual(address, SIZE).catch((error: unknown) => {
      console.error(`read ${i} failed (faulty=${faulty}):`, String(error), JSON.stringify({ dbg: debuggerLink.stats(), tgt: targetLink.stats(), target: targetSession.state }));
      throw error;
    });
    let ok = got.bytesRead === SIZE && got.data.length === SIZE;
    for (let j = 0; ok && j < SIZE; j++) ok = got.data[j] === patternByte(address + BigInt(j));
    if (!ok) bad++;
  }
  const seconds = (performance.now() - start) / 1000;
  inject = false;
  // Let the last ACKs and any state change the target re-announced (a RESEND reaching it idle,
  // spec 1.6) land before counting (outside the timed part).
  await new Promise((resolve) => setTimeout(resolve, 1000));

  const dbg = debuggerLink.stats();
  const tgt = targetLink.stats();
  const result: RunResult = {
    seconds,
    faults: { ...faults },
    reads: READS,
    bad,
    requestsSent: dbg.packetsOut - before.dbg.packetsOut,
    requestsServed: requestsServed - before.served,
    repliesSent: tgt.packetsOut - before.tgt.packetsOut,
    repliesTaken: dbg.packetsIn - before.dbg.packetsIn,
    debuggerLink: dbg,
    targetLink: tgt,
  };
  await session.close();
  await targetSession.close();
  await debuggerLink.close();
  await targetLink.close();
  for (const s of [relayDebuggerSide, relayTargetSide]) s.destroy();
  await new Promise<void>((r) => target.server.close(() => r()));
  await new Promise<void>((r) => relay.server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const clean = await run(false);
const faulty = await run(true);
const faultCount = faulty.faults.corrupted + faulty.faults.dropped;
const perFaultMs = faultCount === 0 ? 0 : ((faulty.seconds - clean.seconds) * 1000) / faultCount;
const exact = (r: RunResult): boolean => r.bad === 0 && r.requestsSent === r.requestsServed && r.repliesSent === r.repliesTaken;

console.log(`KDCOM recovery under line faults: ${READS} reads of ${SIZE} bytes over Unix sockets, retransmit=${MODE}`);
console.log(`  clean : ${clean.seconds.toFixed(2)} s, ${clean.requestsSent} requests`);
console.log(
  `  faulty: ${faulty.seconds.toFixed(2)} s, ${faultCount} faults (${faulty.faults.corrupted} corrupted, ${faulty.faults.dropped} dropped bytes), ` +
    `${faulty.debuggerLink.resends + faulty.targetLink.resends} resends, ${faulty.debuggerLink.badFrames + faulty.targetLink.badFrames} bad frames`,
);
console.log(`  cost per fault: ${perFaultMs.toFixed(2)} ms (target: < 20 ms on a socket)`);
console.log(
  `  reads intact: ${READS - faulty.bad}/${READS}; requests sent ${faulty.requestsSent}, served ${faulty.requestsServed}; ` +
    `replies sent ${faulty.repliesSent}, taken ${faulty.repliesTaken} -> ${exact(faulty) && exact(clean) ? 'nothing lost, nothing delivered twice' : 'MISMATCH'}`,
);
console.log(JSON.stringify({ mode: MODE, reads: READS, cleanSeconds: clean.seconds, faultySeconds: faulty.seconds, faults: faulty.faults, perFaultMs, exact: exact(faulty) && exact(clean) }));
if (!exact(faulty) || !exact(clean)) process.exitCode = 1;
