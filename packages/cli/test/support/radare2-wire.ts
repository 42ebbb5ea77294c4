import { connect, type Socket } from 'node:net';
import { encodeControlFrame, encodeDataFrame, KdcomFrameDecoder, KdPacketType, type KdcomFrameEvent } from '@vmkd/kd-protocol';
import { ArrivalQueue } from './arrival-queue.js';

/**
 * radare2's winkd client, byte for byte, for tests that need no radare2 (kd-protocol spec §4.1,
 * appendix A; radareorg/radare2 `shlr/winkd/winkd.c` `winkd_sync`, `kd.c` `kd_read_packet`):
 * it writes a break-in byte and a RESET (id 0) the moment it connects, before reading anything;
 * it ACKs every data packet it reads with the id's SYNC bit cleared; it waits for the RESET reply,
 * then for a STATE_CHANGE64 (skipping up to 10 other packets); it numbers its requests from
 * 0x80800000; and a RESEND from the target makes it abandon the operation ("malformed").
 */

/** The first bytes radare2 sends (appendix A.1). */
export const RADARE2_HELLO = Uint8Array.from([0x62, 0x69, 0x69, 0x69, 0x69, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

export interface WireLog {
  /** Every data packet type radare2 read, in order (ACKed as it would). */
  readonly dataTypes: number[];
  /** RESEND control packets received: each one aborts a radare2 operation. */
  resends: number;
  resetReplies: number;
  /** Everything read, in order: `R` RESET reply, `E` RESEND, `s` state change, `m` manipulate, `p` other data. */
  readonly sequence: string[];
}

export class Radare2Wire {
  readonly log: WireLog = { dataTypes: [], resends: 0, resetReplies: 0, sequence: [] };
  private readonly frames = new ArrivalQueue<KdcomFrameEvent>();
  private nextId = 0x80800000;
  private readonly decoder = new KdcomFrameDecoder((event) => {
    if (event.kind === 'data') {
      this.log.dataTypes.push(event.type);
      this.log.sequence.push(event.type === KdPacketType.StateChange64 ? 's' : event.type === KdPacketType.StateManipulate ? 'm' : 'p');
      // kd_read_packet ACKs each good data packet at once, SYNC bit stripped.
      this.socket.write(encodeControlFrame(KdPacketType.Acknowledge, event.id & ~0x800));
    }
    if (event.kind === 'control' && event.type === KdPacketType.Resend) {
      this.log.resends += 1;
      this.log.sequence.push('E');
    }
    if (event.kind === 'control' && event.type === KdPacketType.Reset) {
      this.log.resetReplies += 1;
      this.log.sequence.push('R');
    }
    this.frames.push(event);
  });

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    socket.on('close', () => this.frames.close('connection closed'));
    socket.on('error', () => undefined);
  }

  /** Connects the way radare2 does and sends its hello in the same breath. */
  static async connect(address: { path: string } | { host: string; port: number }): Promise<Radare2Wire> {
    const socket = 'path' in address ? connect(address.path) : connect(address.port, address.host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(RADARE2_HELLO);
    return new Radare2Wire(socket);
  }

  /** winkd_wait_packet: the next frame of `type` (data or control), skipping at most 10 others. */
  async waitFor(leader: 'data' | 'control', type: number, timeoutMs = 10_000): Promise<KdcomFrameEvent & { kind: 'data' | 'control' }> {
    const deadline = performance.now() + timeoutMs;
    let skipped = 0;
    for (;;) {
      const frame = await this.frames.next(deadline, () => `${leader} type ${type} (${timeoutMs} ms); data types so far ${JSON.stringify(this.log.dataTypes)}`);
      if (frame.kind === 'control' && frame.type === KdPacketType.Resend) throw new Error('RESEND from the target: radare2 abandons the operation ("malformed packet")');
      if ((frame.kind === 'data' || frame.kind === 'control') && frame.kind === leader && frame.type === type) return frame;
      if (frame.kind === 'data' || frame.kind === 'control') {
        // Control ACKs do not count against radare2's budget: it waits for them separately.
        if (!(frame.kind === 'control' && frame.type === KdPacketType.Acknowledge) && ++skipped > 10) {
          throw new Error(`radare2 gives up: 10 packets that were not ${leader} type ${type}`);
        }
      }
    }
  }

  /** winkd_sync: RESET reply, then the state change. */
  async sync(): Promise<Uint8Array> {
    await this.waitFor('control', KdPacketType.Reset);
    const stop = await this.waitFor('data', KdPacketType.StateChange64);
    this.nextId = 0x80800000;
    return (stop as { payload: Uint8Array }).payload;
  }

  /** Sends one request as radare2 numbers it; resolves with the reply payload (after its ACK). */
  async request(payload: Uint8Array, expectReply = true): Promise<Uint8Array | undefined> {
    const id = this.nextId;
    this.nextId ^= 1;
    this.socket.write(encodeDataFrame(KdPacketType.StateManipulate, id, payload));
    await this.waitFor('control', KdPacketType.Acknowledge);
    if (!expectReply) return undefined;
    const reply = await this.waitFor('data', KdPacketType.StateManipulate);
    return (reply as { payload: Uint8Array }).payload;
  }

  breakIn(): void {
    this.socket.write(Uint8Array.of(0x62));
  }

  async waitForStop(timeoutMs = 10_000): Promise<Uint8Array> {
    return ((await this.waitFor('data', KdPacketType.StateChange64, timeoutMs)) as { payload: Uint8Array }).payload;
  }

  /** Data packets that arrived and were not asked for yet. */
  pending(): KdcomFrameEvent[] {
    return this.frames.pending();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A 56-byte manipulate request: ApiNumber, then fields at union offset 0x10 (spec §2.1, §2.3). */
export function manipulateRequest(api: number, fill: (view: DataView) => void = () => undefined): Uint8Array {
  const payload = new Uint8Array(56);
  const view = new DataView(payload.buffer);
  view.setUint32(0, api, true);
  fill(view);
  return payload;
}

export const GET_VERSION = 0x3146;
export const READ_VIRTUAL = 0x3130;
export const CONTINUE_API2 = 0x313c;
