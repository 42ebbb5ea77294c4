import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocketByteLink } from '@vmkd/byte-links';
import { createDebuggerSession, createKdcomLink, createTargetSession, KdPacketType, type PacketLink } from '@vmkd/kd-protocol';
import { fillExpected } from '../data-formula.js';
import { createSimTarget } from '../sim-target.js';
import { faultLine } from './fault-line.js';

export interface KdcomRecoveryOptions {
  /** Reads to time. Default 1000. */
  readonly reads?: number;
  /** Bytes per read. Default 4000. */
  readonly size?: number;
  /** One byte in this many is corrupted, each direction. Default 10,000. */
  readonly corruptOneIn?: number;
  /** One byte in this many is dropped, each direction. Default 20,000. */
  readonly dropOneIn?: number;
  /** Retransmission timeout of the debugger's KDCOM link (decision record on adaptive retransmission). Default 'adaptive'. */
  readonly retransmit?: 'adaptive' | 'fixed';
  /**
   * Retransmission timeout of the virtual kernel's link. Default: as `retransmit`. `fixed` is the
   * target as Windows' KDCOM behaves (its timeouts are not the host's to change).
   */
  readonly targetRetransmit?: 'adaptive' | 'fixed';
  /** Called after each read with the fraction of the whole measurement done (clean pass, then faulty). */
  readonly progress?: (fraction: number) => void;
  /** PRNG seed for where faults fall. Default 0x5eed. */
  readonly seed?: number;
  /** Per-request timeout of the debugger session. Default 120,000 ms. */
  readonly timeoutMs?: number;
}

export interface KdcomRecoveryResult {
  /** Reads made on the faulty line. */
  readonly reads: number;
  /**
   * Reads that returned every byte, each equal to the virtual kernel's memory. KDCOM's checksum is
   * a plain byte sum (KD spec 1.4): two corrupted bytes in one frame whose changes cancel pass it,
   * as they would with Windows, so at high fault rates an occasional read is damaged, not lost.
   */
  readonly intact: number;
  /** KD packets one side sent that the other never took (requests and replies). */
  readonly lost: number;
  /** KD packets one side took more often than the other sent them. */
  readonly duplicated: number;
  /** Bytes damaged on the line (corrupted + dropped, both directions). */
  readonly faults: number;
  readonly corrupted: number;
  readonly dropped: number;
  /** Wall time of the reads on the faulty line. */
  readonly wallMs: number;
  /** Wall time of the same reads on a clean line (same process, just before). */
  readonly cleanWallMs: number;
  /** (wallMs − cleanWallMs) ÷ faults: what one damaged byte costs. */
  readonly msPerFault: number;
  /** Retransmissions (RESEND answered or timeout) on both links, and frames the decoders refused. */
  readonly resends: number;
  readonly badFrames: number;
  readonly retransmit: 'adaptive' | 'fixed';
  readonly targetRetransmit: 'adaptive' | 'fixed';
}

interface Run {
  wallMs: number;
  intact: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  dropped: number;
  resends: number;
  badFrames: number;
}

/**
 * Recovery from line faults (issue 15, workload 5): serial KDCOM between vmkd's DebuggerSession
 * and the virtual kernel's TargetSession over real Unix sockets, through a relay that corrupts
 * and drops bytes both ways; every read is compared byte for byte with the kernel's memory, and
 * every KD packet sent is matched with one taken on the other side. The same reads run first on
 * a clean line; the difference, divided by the damaged bytes, is the cost of one fault.
 */
export async function measureKdcomRecovery(options: KdcomRecoveryOptions = {}): Promise<KdcomRecoveryResult> {
  const reads = options.reads ?? 1000;
  const size = options.size ?? 4000;
  const retransmit = options.retransmit ?? 'adaptive';
  const targetRetransmit = options.targetRetransmit ?? retransmit;
  const progress = options.progress;
  // The clean pass is short; it gets a third of the progress bar, the faulty pass the rest.
  const clean = await runOnce({ ...options, reads, size, retransmit, targetRetransmit, corruptOneIn: 0, dropOneIn: 0, onRead: (i) => progress?.((i + 1) / reads / 3) });
  const faulty = await runOnce({ ...options, reads, size, retransmit, targetRetransmit, onRead: (i) => progress?.(1 / 3 + ((i + 1) / reads) * (2 / 3)) });
  const faults = faulty.corrupted + faulty.dropped;
  return {
    reads,
    intact: faulty.intact,
    lost: faulty.lost + clean.lost,
    duplicated: faulty.duplicated + clean.duplicated,
    faults,
    corrupted: faulty.corrupted,
    dropped: faulty.dropped,
    wallMs: faulty.wallMs,
    cleanWallMs: clean.wallMs,
    msPerFault: faults === 0 ? 0 : Math.max(0, faulty.wallMs - clean.wallMs) / faults,
    resends: faulty.resends,
    badFrames: faulty.badFrames,
    retransmit,
    targetRetransmit,
  };
}

type Retransmit = 'adaptive' | 'fixed';

async function runOnce(options: KdcomRecoveryOptions & { reads: number; size: number; retransmit: Retransmit; targetRetransmit: Retransmit; onRead: (i: number) => void }): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'vmkd-recovery-'));
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  const links: PacketLink[] = [];
  const sim = createSimTarget({ printIntervalMs: 0 });
  try {
    // debugger ⇄ socket ⇄ fault relay ⇄ socket ⇄ virtual kernel
    const [debuggerSocket, relayA] = await socketPair(join(dir, 'debugger.sock'), servers);
    const [relayB, targetSocket] = await socketPair(join(dir, 'target.sock'), servers);
    sockets.push(debuggerSocket, relayA, relayB, targetSocket);
    const line = faultLine(relayA, relayB, { corruptOneIn: options.corruptOneIn ?? 10_000, dropOneIn: options.dropOneIn ?? 20_000, seed: options.seed ?? 0x5eed });
    const debuggerLink = createKdcomLink(createSocketByteLink(debuggerSocket, 'debugger'), { role: 'target-facing', retransmit: options.retransmit });
    const targetLink = createKdcomLink(createSocketByteLink(targetSocket, 'target'), { role: 'debugger-facing', retransmit: options.targetRetransmit });
    links.push(debuggerLink, targetLink);
    const target = createTargetSession(targetLink, sim);
    const session = createDebuggerSession(debuggerLink, { timeoutMs: options.timeoutMs ?? 120_000 });
    // (After the sessions: a link holds its first events for its first subscriber.)
    const counts = { requestsSent: 0, requestsTaken: 0, repliesSent: 0, repliesTaken: 0 };
    countPackets(debuggerLink, (n) => (counts.requestsSent += n), (n) => (counts.repliesTaken += n));
    countPackets(targetLink, (n) => (counts.repliesSent += n), (n) => (counts.requestsTaken += n));
    try {
      await session.attach({ breakIn: 'never', timeoutMs: 30_000 });
      const base = sim.layout.dataRegion.virtualBase;
      const span = Math.max(options.size, Math.min(Number(sim.layout.dataRegion.size), 4 * 1024 * 1024) - options.size);
      const got = new Uint8Array(options.size);
      const want = new Uint8Array(options.size);
      const before = { ...counts };
      line.set(true);
      let intact = 0;
      const start = performance.now();
      for (let i = 0; i < options.reads; i++) {
        const address = base + BigInt((i * options.size) % span);
        const r = await session.readVirtualInto(address, got);
        fillExpected(address, want);
        if (r.bytesRead === options.size && Buffer.compare(got, want) === 0) intact += 1;
        options.onRead(i);
      }
      const wallMs = performance.now() - start;
      line.set(false);
      // The last ACKs land outside the timed part, so every packet is counted on both sides.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const requestsGap = counts.requestsSent - before.requestsSent - (counts.requestsTaken - before.requestsTaken);
      const repliesGap = counts.repliesSent - before.repliesSent - (counts.repliesTaken - before.repliesTaken);
      const d = debuggerLink.stats();
      const t = targetLink.stats();
      return {
        wallMs,
        intact,
        lost: Math.max(0, requestsGap) + Math.max(0, repliesGap),
        duplicated: Math.max(0, -requestsGap) + Math.max(0, -repliesGap),
        corrupted: line.counts.corrupted,
        dropped: line.counts.dropped,
        resends: d.resends + t.resends,
        badFrames: d.badFrames + t.badFrames,
      };
    } finally {
      await session.close();
      await target.close();
    }
  } finally {
    for (const link of links) await link.close().catch(() => undefined);
    for (const s of sockets) s.destroy();
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** KD data packets a link sends (manipulate requests and replies only) and takes. */
function countPackets(link: PacketLink, onSent: (n: number) => void, onTaken: (n: number) => void): void {
  const send = link.send.bind(link);
  link.send = (packet) => {
    if (packet.type === KdPacketType.StateManipulate) onSent(1);
    return send(packet);
  };
  link.events$.subscribe((event) => {
    if (event.kind === 'packet' && event.packet.type === KdPacketType.StateManipulate) onTaken(1);
  });
}

/** A connected pair of Unix sockets: [the client end, the accepted end]. The path is owner-only. */
async function socketPair(path: string, servers: Server[]): Promise<[Socket, Socket]> {
  const server = createServer();
  servers.push(server);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  const client = await new Promise<Socket>((resolve, reject) => {
    const socket = createConnection(path, () => resolve(socket));
    socket.once('error', reject);
  });
  return [client, await accepted];
}
