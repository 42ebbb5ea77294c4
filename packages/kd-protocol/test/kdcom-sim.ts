/**
 * Two KDCOM link machines joined by a simulated wire in virtual time: a debugger
 * (`target-facing`) and a target (`debugger-facing`). Each write is one chunk on the wire; the test
 * decides which chunk moves next, which are dropped or corrupted, and when time advances.
 */
import { KdcomFrameDecoder, KdcomLinkMachine, createVirtualClock, type KdPacket, type LinkRole, type VirtualClock } from '../src/index.js';
import { type KdcomMachineOptions } from '../src/internal.js';

export type Side = 'dbg' | 'tgt';

export interface SimEnd {
  readonly machine: KdcomLinkMachine<number>;
  readonly delivered: KdPacket[];
  readonly sent: number[];
  readonly failed: { token: number; code: string }[];
  breakins: number;
  peerResets: number;
  resynced: number;
  resyncFailed: number;
  /** Chunks written by this end, not yet delivered to the other. */
  readonly outbox: Uint8Array[];
  /** Called with every delivered packet (a workload can answer from here). */
  onDeliver?: (packet: KdPacket) => void;
}

export type WireFault = (chunk: Uint8Array, from: Side) => Uint8Array | null;

export class KdcomSim {
  readonly clock: VirtualClock = createVirtualClock();
  readonly dbg: SimEnd;
  readonly tgt: SimEnd;
  private readonly decoders: Record<Side, KdcomFrameDecoder>;

  constructor(
    options: Partial<Omit<KdcomMachineOptions, 'role' | 'clock'>> & { dbg?: Partial<KdcomMachineOptions>; tgt?: Partial<KdcomMachineOptions> } = {},
    public fault?: WireFault,
  ) {
    const { dbg, tgt, ...common } = options;
    this.dbg = this.makeEnd('target-facing', { ...common, ...dbg });
    this.tgt = this.makeEnd('debugger-facing', { ...common, ...tgt });
    this.decoders = {
      dbg: new KdcomFrameDecoder((e) => this.dbg.machine.receive(e)),
      tgt: new KdcomFrameDecoder((e) => this.tgt.machine.receive(e)),
    };
  }

  private makeEnd(role: LinkRole, options: Partial<KdcomMachineOptions>): SimEnd {
    const end: Omit<SimEnd, 'machine'> & { machine?: KdcomLinkMachine<number> } = {
      delivered: [],
      sent: [],
      failed: [],
      breakins: 0,
      peerResets: 0,
      resynced: 0,
      resyncFailed: 0,
      outbox: [],
    };
    end.machine = new KdcomLinkMachine<number>(
      { ackTimeoutMs: 100, ...options, role, clock: this.clock },
      {
        write: (bytes) => end.outbox.push(bytes.slice()),
        deliver: (p) => {
          const copy = { type: p.type, payload: p.payload.slice() };
          end.delivered.push(copy);
          end.onDeliver?.(copy);
        },
        sent: (t) => end.sent.push(t),
        failed: (t, e) => end.failed.push({ token: t, code: e.code }),
        peerBreakIn: () => end.breakins++,
        peerReset: () => end.peerResets++,
        resynced: () => end.resynced++,
        resyncFailed: () => end.resyncFailed++,
      },
    );
    return end as SimEnd;
  }

  /** Move the oldest chunk from `from` to the other end (through the fault hook). False if none. */
  deliverOne(from: Side): boolean {
    const chunk = this[from].outbox.shift();
    if (chunk === undefined) return false;
    const out = this.fault === undefined ? chunk : this.fault(chunk, from);
    const to: Side = from === 'dbg' ? 'tgt' : 'dbg';
    if (out !== null) this.decoders[to].push(out);
    // Each write arrives as its own chunk, as createKdcomLink feeds them.
    this[to].machine.endOfInput();
    return true;
  }

  get wireEmpty(): boolean {
    return this.dbg.outbox.length === 0 && this.tgt.outbox.length === 0;
  }

  /**
   * Run until the wire is empty and nothing is queued, advancing time only when the wire is
   * idle (so retransmissions happen only after a real timeout). `pick` chooses the direction.
   */
  settle(pick: () => Side = () => (this.dbg.outbox.length > 0 ? 'dbg' : 'tgt'), maxMs = 600_000): void {
    const end = this.clock.now() + maxMs;
    while (this.clock.now() < end) {
      if (!this.wireEmpty) {
        const side = pick();
        if (!this.deliverOne(side)) this.deliverOne(side === 'dbg' ? 'tgt' : 'dbg');
        continue;
      }
      if (this.clock.pending === 0 || (this.dbg.machine.queued === 0 && this.tgt.machine.queued === 0 && !this.busy())) return;
      this.clock.advance(10);
    }
    throw new Error('simulation did not settle');
  }

  /** A RESET of ours is still unanswered on either end. */
  busy(): boolean {
    return this.dbgResyncOpen > 0 || this.tgtResyncOpen > 0;
  }

  private get dbgResyncOpen(): number {
    return this.pendingResyncs.dbg - this.dbg.resynced - this.dbg.resyncFailed;
  }

  private get tgtResyncOpen(): number {
    return this.pendingResyncs.tgt - this.tgt.resynced - this.tgt.resyncFailed;
  }

  private readonly pendingResyncs: Record<Side, number> = { dbg: 0, tgt: 0 };

  /** resync() on one end, remembering that an answer is due (calls while one is open share it). */
  resync(side: Side): void {
    const open = side === 'dbg' ? this.dbgResyncOpen : this.tgtResyncOpen;
    if (open === 0) this.pendingResyncs[side]++;
    this[side].machine.resync();
  }
}

/** A packet whose payload names its sender and sequence number. */
export function numbered(from: Side, seq: number, size = 8): KdPacket {
  const payload = new Uint8Array(Math.max(size, 3));
  payload[0] = from === 'dbg' ? 0xd0 : 0x70;
  payload[1] = seq & 0xff;
  payload[2] = seq >> 8;
  for (let i = 3; i < payload.length; i++) payload[i] = (seq * 31 + i) & 0xff;
  return { type: from === 'dbg' ? 2 : 7, payload };
}

export function seqOf(p: KdPacket): number {
  return p.payload[1] | (p.payload[2] << 8);
}
