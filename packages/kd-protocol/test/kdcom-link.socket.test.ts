import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKdcomLink, type KdPacket, type PacketLink } from '../src/index.js';
import { skipUnlessCapable, titleWithSkip } from '../src/testing/index.js';
import { socketByteLink } from './socket-byte-link.js';

const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function listen(path: string): Promise<{ server: Server; accepted: Promise<Socket> }> {
  return new Promise((resolve) => {
    let onAccept!: (s: Socket) => void;
    const accepted = new Promise<Socket>((r) => (onAccept = r));
    const server = createServer((s) => onAccept(s));
    server.listen(path, () => resolve({ server, accepted }));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  });
}

function dial(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.on('error', reject);
  });
}

/** Deterministic PRNG so a failing run replays. */
function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
}

/**
 * Debugger link ⇄ fault relay ⇄ target link, each hop a real Unix socket. The relay flips the top
 * bit of some bytes and drops others (both directions) until its fault budget is spent.
 */
async function relayedPair(faults: number) {
  const dir = mkdtempSync(join(tmpdir(), 'kdcom-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const dbgSide = await listen(join(dir, 'dbg.sock'));
  const tgtSide = await listen(join(dir, 'tgt.sock'));
  const dbgSocket = await dial(join(dir, 'dbg.sock'));
  const tgtSocket = await dial(join(dir, 'tgt.sock'));
  const [relayA, relayB] = await Promise.all([dbgSide.accepted, tgtSide.accepted]);
  cleanup.push(() => {
    relayA.destroy();
    relayB.destroy();
  });
  const random = rng(0xc0ffee);
  let budget = faults;
  let injected = 0;
  const pipe = (from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      const out: number[] = [];
      for (const b of chunk) {
        const r = budget > 0 ? random() : 1;
        if (r < 0.0004) {
          budget--;
          injected++;
          continue; // dropped
        }
        if (r < 0.001) {
          budget--;
          injected++;
          out.push(b ^ 0x80); // corrupted
          continue;
        }
        out.push(b);
      }
      to.write(Uint8Array.from(out));
    });
  const forwardClose = (from: Socket, to: Socket) => from.on('close', () => to.end());
  forwardClose(relayA, relayB);
  forwardClose(relayB, relayA);
  pipe(relayA, relayB);
  pipe(relayB, relayA);
  const options = { ackTimeoutMs: 40, byteTimeoutMs: 20, maxRetries: 200 };
  const debuggerLink = createKdcomLink(socketByteLink(dbgSocket, 'dbg'), { ...options, role: 'target-facing' });
  const targetLink = createKdcomLink(socketByteLink(tgtSocket, 'tgt'), { ...options, role: 'debugger-facing' });
  cleanup.push(() => debuggerLink.close(), () => targetLink.close());
  return { debuggerLink, targetLink, injected: () => injected };
}

/** Payload bytes never look like (or flip into) a leader or break-in byte, so faults cannot forge frames. */
function payload(seq: number, size: number): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = seq & 0x7f;
  p[1] = seq >> 7;
  for (let i = 2; i < size; i++) {
    const b = (seq * 13 + i * 7) & 0x7f;
    p[i] = b === 0x30 || b === 0x69 || b === 0x62 ? 0x11 : b;
  }
  return p;
}

const seqOf = (p: KdPacket) => p.payload[0] | (p.payload[1] << 7);

async function requestResponse(debuggerLink: PacketLink, targetLink: PacketLink, rounds: number) {
  const atTarget: number[] = [];
  const atDebugger: KdPacket[] = [];
  const answered = new Map<number, () => void>();
  targetLink.events$.subscribe((e) => {
    if (e.kind !== 'packet') return;
    atTarget.push(seqOf(e.packet));
    // Answered asynchronously; a send cut short by the final close() is expected.
    targetLink.send({ type: 2, payload: payload(seqOf(e.packet), 100 + ((seqOf(e.packet) * 397) % 3900)) }).catch(() => undefined);
  });
  debuggerLink.events$.subscribe((e) => {
    if (e.kind !== 'packet') return;
    atDebugger.push(e.packet);
    answered.get(seqOf(e.packet))?.();
  });
  for (let seq = 1; seq <= rounds; seq++) {
    const answer = new Promise<void>((resolve) => answered.set(seq, resolve));
    await debuggerLink.send({ type: 2, payload: payload(seq, 56 + ((seq * 131) % 200)) });
    await answer;
  }
  return { atTarget, atDebugger };
}

const noUnixSockets = skipUnlessCapable('unix-sockets');

describe.skipIf(noUnixSockets !== undefined)(titleWithSkip('createKdcomLink over real Unix sockets', noUnixSockets), () => {
  it('delivers every request and reply exactly once through a relay that drops and corrupts bytes', async () => {
    const { debuggerLink, targetLink, injected } = await relayedPair(40);
    const rounds = 60;
    const { atTarget, atDebugger } = await requestResponse(debuggerLink, targetLink, rounds);
    const range = Array.from({ length: rounds }, (_, i) => i + 1);
    expect(atTarget).toEqual(range);
    expect(atDebugger.map(seqOf)).toEqual(range);
    for (const p of atDebugger) expect(p.payload).toEqual(payload(seqOf(p), p.payload.length));
    expect(injected()).toBeGreaterThan(10);
    const stats = [debuggerLink.stats(), targetLink.stats()];
    expect(stats[0].resends + stats[1].resends).toBeGreaterThan(0);
    expect(stats[0].badFrames + stats[1].badFrames).toBeGreaterThan(0);
  });

  it('reports the peer closing its socket as disconnect', async () => {
    const { debuggerLink, targetLink } = await relayedPair(0);
    const gone = new Promise((resolve) => targetLink.events$.subscribe((e) => e.kind === 'disconnect' && resolve(e)));
    await debuggerLink.close();
    // The relay notices and closes the other hop too.
    expect(await Promise.race([gone, new Promise((r) => setTimeout(() => r('timeout'), 2000))])).toMatchObject({ kind: 'disconnect' });
  });
});
