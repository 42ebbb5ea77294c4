import { KdPacketType } from '../api/constants.js';
import { kdChecksum } from './checksum.js';
import { BREAKIN_BYTE, CONTROL_LEADER_BYTE, DATA_LEADER_BYTE, KD_HEADER_SIZE, PACKET_MAX_ACCEPT, TRAILER_BYTE } from './constants.js';
import { BAD_FRAME_CODES, type BadFrameReason } from './errors.js';

export type LeaderKind = 'data' | 'control';

/** A data frame that passed the trailer and checksum checks. */
export interface KdcomDataFrame {
  readonly kind: 'data';
  /** Stream offset of the frame's first leader byte. */
  readonly offset: number;
  readonly type: number;
  readonly id: number;
  readonly byteCount: number;
  readonly checksum: number;
  /**
   * The payload. When the whole frame arrived in one chunk this is a view into that chunk (no
   * copy); copy it if the chunk's owner will reuse the buffer.
   */
  readonly payload: Uint8Array;
}

export interface KdcomControlFrame {
  readonly kind: 'control';
  readonly offset: number;
  readonly type: number;
  readonly id: number;
  /** Should be 0; reported as seen. */
  readonly byteCount: number;
  readonly checksum: number;
}

/** A frame the decoder refused. The data is never delivered; a link answers with RESEND. */
export interface KdcomBadFrame {
  readonly kind: 'bad-frame';
  /** Stream offset of the frame's first leader byte. */
  readonly offset: number;
  readonly reason: BadFrameReason;
  /** Stable code, `ERR_KDCOM_*`. */
  readonly code: string;
  readonly leader: LeaderKind;
  readonly type: number;
  readonly id: number;
  readonly byteCount: number;
  readonly checksum: number;
  /** `checksum`: the sum of the payload as received. */
  readonly actualChecksum?: number;
  /** `trailer`: the byte found where 0xAA belongs. */
  readonly trailer?: number;
  /** `truncated`: frame bytes received after the leader before the stream stopped. */
  readonly received?: number;
}

export type KdcomFrameEvent =
  | KdcomDataFrame
  | KdcomControlFrame
  | KdcomBadFrame
  /**
   * A lone `b` (or a run of them) outside a frame: a debugger's break-in request. "Lone" means
   * nothing but other `b`s between it and the last frame (or the start of the chunk) and the next
   * leader (or the end of the chunk): a 0x62 among garbage is garbage (KD spec 1.7 HUNT), so a flood
   * of random bytes does not become a flood of break-ins.
   */
  | { readonly kind: 'breakin'; readonly offset: number }
  /** Bytes skipped while hunting (emitted before whatever ended the run of garbage); `offset` is the first. */
  | { readonly kind: 'garbage'; readonly offset: number; readonly count: number }
  /** A leader was found after garbage or a broken frame: the decoder is back in step at `offset`. */
  | { readonly kind: 'resync'; readonly offset: number };

const HUNT = 0;
const HEADER = 1;
const BODY = 2;
const TRAILER = 3;
/** Header bytes after the 4-byte leader. */
const HEADER_REST = KD_HEADER_SIZE - 4;

/**
 * Streaming KDCOM deframer (KD spec 1.7), one for both roles. Feed it chunks of any size with
 * push(); it calls `onEvent` synchronously for everything it finds. It never throws on input and
 * holds at most one header and one maximum payload (see `bufferedBytes`). A frame that lies
 * entirely inside one chunk is delivered as a view of that chunk; only a frame split across
 * chunks is copied, once.
 */
export class KdcomFrameDecoder {
  private state = HUNT;
  private leaderByte = 0;
  private leaderCount = 0;
  private garbage = 0;
  private lostSync = false;
  /** Stream offset of the first `b` of a run not yet reported, or -1; and the run's length. */
  private breakinAt = -1;
  private breakinRun = 0;
  /** Garbage other than `b` seen since the last frame or chunk start: a `b` beside it is not lone. */
  private tainted = false;
  /** True while bytes of a broken frame are being scanned again for a leader (see rescan()). */
  private rescanning = false;
  private readonly header = new Uint8Array(HEADER_REST);
  private headerFill = 0;
  private frameLeader: LeaderKind = 'data';
  private type = 0;
  private count = 0;
  private id = 0;
  private checksum = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  /** Stream offset of the current chunk's first byte. */
  private chunkBase = 0;
  private frameStart = 0;

  constructor(private readonly onEvent: (event: KdcomFrameEvent) => void) {}

  /** Bytes held between chunks: a partial header and a partial payload, ≤ 12 + 4096. */
  get bufferedBytes(): number {
    return this.headerFill + (this.body === null ? 0 : this.body.length);
  }

  /** True while a frame has started but not finished. */
  get inFrame(): boolean {
    return this.state !== HUNT;
  }

  /** Bytes pushed so far (between push() calls: the stream offset of the next byte). */
  get offset(): number {
    return this.chunkBase;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case HUNT:
          i = this.hunt(chunk, i, n);
          break;
        case HEADER:
          i = this.readHeader(chunk, i, n);
          break;
        case BODY:
          i = this.readBody(chunk, i, n);
          break;
        default:
          this.finishFrame(this.body ?? new Uint8Array(0), chunk[i++]);
      }
    }
    this.chunkBase += n;
    if (this.rescanning) return;
    // A break-in is written on its own (radare2, WinDbg's Ctrl+Break), so it ends a chunk or comes
    // right before a leader: report a clean run of `b`s now rather than wait for more bytes.
    this.endBreakinRun();
    this.tainted = false;
  }

  /**
   * The stream ended or stalled (T_byte): report a frame cut short as `truncated`, partial leader
   * bytes as garbage, and start hunting again.
   */
  flush(): void {
    if (this.state !== HUNT) {
      const received = this.state === HEADER ? this.headerFill : this.state === BODY ? HEADER_REST + this.bodyFill : HEADER_REST + this.count;
      this.bad('truncated', { received });
    }
    this.endBreakinRun();
    this.garbage += this.leaderCount;
    this.leaderCount = 0;
    this.flushGarbage(this.chunkBase);
  }

  private hunt(chunk: Uint8Array, i: number, n: number): number {
    while (i < n) {
      const c = chunk[i];
      if (this.leaderCount === 4) {
        // No valid header starts with a leader byte (types are < 12), so of a run of five or more
        // leader bytes the last four are the leader: a stray 0x30 (a bad trailer, a lost byte)
        // just before a real frame must not shift that frame by one and lose it.
        if (c === this.leaderByte) {
          this.garbage += 1;
          i++;
          continue;
        }
        this.leaderCount = 0;
        this.startFrame(this.chunkBase + i - 4);
        return i;
      }
      i++;
      if (c === DATA_LEADER_BYTE || c === CONTROL_LEADER_BYTE) {
        if (this.leaderCount > 0 && c !== this.leaderByte) {
          this.garbage += this.leaderCount;
          this.leaderCount = 0;
        }
        this.leaderByte = c;
        this.leaderCount += 1;
      } else if (c === BREAKIN_BYTE) {
        if (this.leaderCount > 0) this.taint();
        this.garbage += this.leaderCount;
        this.leaderCount = 0;
        if (this.breakinAt >= 0) {
          this.breakinRun += 1;
        } else if (!this.tainted) {
          const at = this.chunkBase + i - 1;
          this.flushGarbage(at);
          this.breakinAt = at;
          this.breakinRun = 1;
        } else {
          this.garbage += 1;
        }
      } else {
        this.garbage += this.leaderCount + 1;
        this.leaderCount = 0;
        this.taint();
      }
    }
    return i;
  }

  /** Non-`b` garbage: a pending run of `b`s beside it was garbage too. */
  private taint(): void {
    this.tainted = true;
    if (this.breakinAt >= 0) this.garbage += this.breakinRun;
    this.breakinAt = -1;
  }

  private endBreakinRun(): void {
    if (this.breakinAt < 0) return;
    const at = this.breakinAt;
    this.breakinAt = -1;
    if (!this.tainted) this.onEvent({ kind: 'breakin', offset: at });
  }

  private startFrame(at: number): void {
    // A clean run of `b`s right before a leader is a break-in (radare2 sends `b` then RESET).
    this.endBreakinRun();
    this.tainted = false;
    this.frameStart = at;
    if (this.garbage > 0) this.flushGarbage(at);
    if (this.lostSync) {
      this.lostSync = false;
      this.onEvent({ kind: 'resync', offset: at });
    }
    this.frameLeader = this.leaderByte === DATA_LEADER_BYTE ? 'data' : 'control';
    this.state = HEADER;
    this.headerFill = 0;
    this.type = this.count = this.id = this.checksum = 0;
  }

  /** Report the run of garbage that ends just before stream offset `end`. */
  private flushGarbage(end: number): void {
    if (this.garbage === 0) return;
    const count = this.garbage;
    this.garbage = 0;
    this.lostSync = true;
    this.onEvent({ kind: 'garbage', offset: end - count, count });
  }

  private readHeader(chunk: Uint8Array, i: number, n: number): number {
    if (this.headerFill === 0 && n - i >= HEADER_REST) {
      this.parseHeader(chunk, i);
      return i + HEADER_REST;
    }
    const take = Math.min(HEADER_REST - this.headerFill, n - i);
    this.header.set(chunk.subarray(i, i + take), this.headerFill);
    this.headerFill += take;
    if (this.headerFill === HEADER_REST) {
      this.headerFill = 0;
      this.parseHeader(this.header, 0);
    }
    return i + take;
  }

  private parseHeader(b: Uint8Array, at: number): void {
    this.type = b[at] | (b[at + 1] << 8);
    this.count = b[at + 2] | (b[at + 3] << 8);
    this.id = (b[at + 4] | (b[at + 5] << 8) | (b[at + 6] << 16) | (b[at + 7] << 24)) >>> 0;
    this.checksum = (b[at + 8] | (b[at + 9] << 8) | (b[at + 10] << 16) | (b[at + 11] << 24)) >>> 0;
    this.state = HUNT;
    if (this.frameLeader === 'control') {
      if (this.rescanning && (this.count !== 0 || this.checksum !== 0 || this.type < KdPacketType.Acknowledge || this.type > KdPacketType.Reset)) {
        this.bad('type');
        return;
      }
      this.onEvent({ kind: 'control', offset: this.frameStart, type: this.type, id: this.id, byteCount: this.count, checksum: this.checksum });
    } else if (this.type >= KdPacketType.Max) {
      this.bad('type');
    } else if (this.count > PACKET_MAX_ACCEPT) {
      // Refused on the header alone: nothing is allocated for a length we will not accept.
      this.bad('oversize');
    } else {
      this.state = BODY;
      this.bodyFill = 0;
    }
  }

  private readBody(chunk: Uint8Array, i: number, n: number): number {
    const count = this.count;
    if (this.body === null) {
      if (n - i > count) {
        // Payload and trailer are all in this chunk: deliver a view, copy nothing.
        this.finishFrame(chunk.subarray(i, i + count), chunk[i + count]);
        return i + count + 1;
      }
      this.body = new Uint8Array(count);
    }
    const take = Math.min(count - this.bodyFill, n - i);
    this.body.set(chunk.subarray(i, i + take), this.bodyFill);
    this.bodyFill += take;
    if (this.bodyFill === count) this.state = TRAILER;
    return i + take;
  }

  private finishFrame(payload: Uint8Array, trailer: number): void {
    this.state = HUNT;
    this.body = null;
    if (trailer !== TRAILER_BYTE) {
      this.bad('trailer', { trailer }, payload);
      return;
    }
    const actual = kdChecksum(payload);
    if (actual !== this.checksum) {
      this.bad('checksum', { actualChecksum: actual });
      return;
    }
    this.onEvent({ kind: 'data', offset: this.frameStart, type: this.type, id: this.id, byteCount: this.count, checksum: this.checksum, payload });
  }

  private bad(reason: BadFrameReason, extra: { actualChecksum?: number; trailer?: number; received?: number } = {}, payload?: Uint8Array): void {
    // The bytes after the leader, for rescan() (taken before the state below is cleared).
    const replay = reason === 'trailer' && !this.rescanning ? this.frameBytes(payload, extra.trailer) : undefined;
    this.state = HUNT;
    this.body = null;
    this.headerFill = 0;
    // A bad checksum leaves the framing intact; every other fault means we may be out of step.
    if (reason !== 'checksum') this.lostSync = true;
    this.onEvent({
      kind: 'bad-frame',
      offset: this.frameStart,
      reason,
      code: BAD_FRAME_CODES[reason],
      leader: this.frameLeader,
      type: this.type,
      id: this.id,
      byteCount: this.count,
      checksum: this.checksum,
      ...extra,
    });
    if (replay !== undefined) this.rescan(replay, this.frameStart + 4);
  }

  /**
   * The bytes of a frame with a bad trailer after its leader, as received: the header fields
   * re-encoded (they are exactly the bytes that came), the payload, the byte found as trailer.
   */
  private frameBytes(payload: Uint8Array | undefined, trailer: number | undefined): Uint8Array {
    const body = payload ?? this.body ?? new Uint8Array(0);
    const out = new Uint8Array(HEADER_REST + body.length + 1);
    const view = new DataView(out.buffer);
    view.setUint16(0, this.type, true);
    view.setUint16(2, this.count, true);
    view.setUint32(4, this.id, true);
    view.setUint32(8, this.checksum, true);
    out.set(body, HEADER_REST);
    out[out.length - 1] = trailer ?? 0;
    return out;
  }

  /**
   * Immediate resync inside a broken frame (KD spec 1.7: "start again looking for a packet leader"):
   * a bad trailer usually means a byte was lost, so the frame swallowed the start of the next one
   * (often the sender's retransmission). Hunt through the broken frame's own bytes for a leader
   * instead of waiting for yet another copy. (A bad checksum leaves the framing intact: nothing to
   * rescan.) One level deep; control frames found this way must look like real ones
   * (ACK, RESEND or RESET with no count and no checksum), since payload bytes can spell `iiii`.
   */
  private rescan(bytes: Uint8Array, at: number): void {
    const base = this.chunkBase;
    this.rescanning = true;
    this.chunkBase = at;
    try {
      this.push(bytes);
    } finally {
      this.rescanning = false;
      this.chunkBase = base;
    }
  }
}

/** Decode a complete byte string (tests, `kd-decode`): every event, with a cut-short frame reported at the end. */
export function decodeKdcomFrames(bytes: Uint8Array): KdcomFrameEvent[] {
  const events: KdcomFrameEvent[] = [];
  const decoder = new KdcomFrameDecoder((e) => events.push(e));
  decoder.push(bytes);
  decoder.flush();
  return events;
}
