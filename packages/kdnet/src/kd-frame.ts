import { BREAKIN_BYTE, CONTROL_PACKET_LEADER, DATA_PACKET_LEADER, KD_HEADER_SIZE, KdPacketType, PACKET_MAX_ACCEPT, kdChecksum } from '@vmkd/kd-protocol';

/**
 * The KD part of a data datagram (kdnet.md §3): the ordinary 16-byte KD header and payload with no
 * 0xAA trailer, a lone `62` for a break-in, or the 12-byte connection check (leader 0, type 0).
 */
export type KdFrame =
  | { readonly kind: 'data'; readonly type: number; readonly id: number; readonly payload: Uint8Array }
  | { readonly kind: 'control'; readonly type: number; readonly id: number }
  | { readonly kind: 'breakin' }
  | { readonly kind: 'conncheck' }
  | { readonly kind: 'bad'; readonly reason: 'checksum' | 'type' | 'length' | 'leader' };

/** The connection check is a KD header without its checksum word. */
export const CONNCHECK_SIZE = 12;

export function parseKdFrame(body: Uint8Array): KdFrame {
  if (body.length === 1) return body[0] === BREAKIN_BYTE ? { kind: 'breakin' } : { kind: 'bad', reason: 'length' };
  if (body.length < CONNCHECK_SIZE) return { kind: 'bad', reason: 'length' };
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const leader = view.getUint32(0, true);
  const type = view.getUint16(4, true);
  if (leader === 0 && type === KdPacketType.Unused) return { kind: 'conncheck' };
  if (body.length < KD_HEADER_SIZE) return { kind: 'bad', reason: 'length' };
  const id = view.getUint32(8, true);
  if (leader === CONTROL_PACKET_LEADER) return { kind: 'control', type, id };
  if (leader !== DATA_PACKET_LEADER) return { kind: 'bad', reason: 'leader' };
  const count = view.getUint16(6, true);
  if (type === KdPacketType.Unused || type >= KdPacketType.Max) return { kind: 'bad', reason: 'type' };
  if (count > PACKET_MAX_ACCEPT || KD_HEADER_SIZE + count > body.length) return { kind: 'bad', reason: 'length' };
  const payload = body.subarray(KD_HEADER_SIZE, KD_HEADER_SIZE + count);
  if (kdChecksum(payload) !== view.getUint32(12, true)) return { kind: 'bad', reason: 'checksum' };
  return { kind: 'data', type, id, payload };
}

/** A KD data packet as KDNET carries it: header with checksum, payload, no trailer. Copies the payload. */
export function encodeKdData(type: number, id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(KD_HEADER_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, DATA_PACKET_LEADER, true);
  view.setUint16(4, type, true);
  view.setUint16(6, payload.length, true);
  view.setUint32(8, id >>> 0, true);
  view.setUint32(12, kdChecksum(payload), true);
  out.set(payload, KD_HEADER_SIZE);
  return out;
}

export function encodeKdControl(type: number, id: number): Uint8Array {
  const out = new Uint8Array(KD_HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, CONTROL_PACKET_LEADER, true);
  view.setUint16(4, type, true);
  view.setUint32(8, id >>> 0, true);
  return out;
}

/** Re-stamps the id of an encoded data packet (after a RESET the ids move on). */
export function withKdId(kd: Uint8Array, id: number): Uint8Array {
  const out = kd.slice();
  new DataView(out.buffer).setUint32(8, id >>> 0, true);
  return out;
}

/**
 * The target's first data datagram: leader 0, type 0, ByteCount 0 and a word that carried the
 * host's IPv4 address (little-endian, as in the libKDNET capture; meaning uncertain, kdnet.md §3).
 */
export function encodeConnCheck(hostIpv4: string | undefined): Uint8Array {
  const out = new Uint8Array(CONNCHECK_SIZE);
  const parts = hostIpv4?.split('.').map(Number);
  if (parts?.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p < 256)) out.set(parts.reverse(), 8);
  return out;
}

export const BREAKIN_KD = Uint8Array.of(BREAKIN_BYTE);
