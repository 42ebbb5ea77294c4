import { DATA_LEADER_BYTE, KD_HEADER_SIZE, TRAILER_BYTE } from './constants.js';

/**
 * Payloads a KDCOM link delivered as views of the very frame they arrived in: its 16-byte leader
 * and header right before them, its trailer right after, in a chunk the byte link hands out fresh
 * and nobody writes again (the decoder says so, see `KdcomFrameDecoder.payloadInChunk`). When such
 * a payload is sent on over KDCOM unchanged (the router passing a packet from one link to the
 * other), the frame it came in is sent again with the sender's id stamped in: no new frame, no
 * copy of the payload, no second checksum (the header carries the one verified on receipt, and
 * the payload is the same bytes). Once per payload: taking the frame removes the mark, so a
 * packet sent twice (a replayed state change) is framed afresh the second time.
 */
const received = new WeakSet<Uint8Array>();

export function markReceivedFrame(payload: Uint8Array): void {
  received.add(payload);
}

/**
 * True for a payload a KDCOM link delivered in the frame it arrived in and nobody has sent on yet:
 * its buffer is a received chunk nobody writes again, so a sender that must keep the packet a while
 * (a link waiting for a peer) can keep it as it is instead of copying it.
 */
export function isReceivedFrame(payload: Uint8Array): boolean {
  return received.has(payload);
}

/** The frame `payload` arrived in, re-stamped with `type` and `id`; undefined unless it is marked (and still looks like its frame). */
export function takeReceivedFrame(type: number, id: number, payload: Uint8Array): Uint8Array | undefined {
  if (!received.delete(payload)) return undefined;
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
