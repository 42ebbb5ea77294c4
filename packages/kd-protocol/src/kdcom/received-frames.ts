import type { KdPacket } from '../packet-link.js';
import { DATA_LEADER_BYTE, KD_HEADER_SIZE, TRAILER_BYTE } from './constants.js';

/**
 * A packet a KDCOM link delivered whose payload is a view of the very frame it arrived in: its
 * 16-byte leader and header right before it, its trailer right after, in a chunk the byte link
 * handed out fresh and nobody writes again (the decoder says so, `KdcomFrameDecoder.payloadInChunk`).
 * When such a packet is sent on over KDCOM unchanged (the router passing it from one link to the
 * other), the frame it came in is sent again with the sender's id stamped in: no new frame, no
 * copy of the payload, no second checksum (the header carries the one verified on receipt, and
 * the payload is the same bytes). Once per packet: taking the frame clears the mark, so a packet
 * sent twice (a replayed state change) is framed afresh the second time.
 *
 * The mark is a private field, so to everyone else this is a plain `{ type, payload }` (a WeakSet
 * of payloads cost every KDCOM link's garbage collector more than the copy it saved).
 */
class ReceivedPacket implements KdPacket {
  #inFrame = true;
  constructor(
    readonly type: number,
    readonly payload: Uint8Array,
  ) {}

  static inFrame(packet: KdPacket): boolean {
    return packet instanceof ReceivedPacket && packet.#inFrame;
  }

  static take(packet: KdPacket): boolean {
    if (!(packet instanceof ReceivedPacket) || !packet.#inFrame) return false;
    packet.#inFrame = false;
    return true;
  }
}

/** The packet a KDCOM link delivers for a payload that arrived whole in its frame. */
export function receivedInFrame(type: number, payload: Uint8Array): KdPacket {
  return new ReceivedPacket(type, payload);
}

/**
 * True for a packet a KDCOM link delivered in the frame it arrived in and nobody has sent on yet:
 * its buffer is a received chunk nobody writes again, so a sender that must keep the packet a while
 * (a link waiting for a peer) can keep it as it is instead of copying it.
 */
export function isReceivedFrame(packet: KdPacket): boolean {
  return ReceivedPacket.inFrame(packet);
}

/** The frame `packet` arrived in, re-stamped with its type and `id`; undefined unless it is such a packet (and the frame still looks like its own). */
export function takeReceivedFrame(packet: KdPacket, id: number): Uint8Array | undefined {
  if (!ReceivedPacket.take(packet)) return undefined;
  const { payload, type } = packet;
  const at = payload.byteOffset - KD_HEADER_SIZE;
  const n = payload.length;
  if (at < 0 || payload.byteOffset + n + 1 > payload.buffer.byteLength) return undefined;
  const frame = new Uint8Array(payload.buffer, at, KD_HEADER_SIZE + n + 1);
  // Only what the decoder checked may be trusted: the leader, the byte count, the trailer.
  if (frame[0] !== DATA_LEADER_BYTE || frame[3] !== DATA_LEADER_BYTE || (frame[6] | (frame[7] << 8)) !== n || frame[KD_HEADER_SIZE + n] !== TRAILER_BYTE) {
    return undefined;
  }
  frame[4] = type & 0xff;
  frame[5] = (type >>> 8) & 0xff;
  frame[8] = id & 0xff;
  frame[9] = (id >>> 8) & 0xff;
  frame[10] = (id >>> 16) & 0xff;
  frame[11] = (id >>> 24) & 0xff;
  return frame;
}
