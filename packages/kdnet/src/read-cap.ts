import { map } from 'rxjs';
import { KdApi, KdLimits, KdPacketType, MANIPULATE_LAYOUTS, peekApiNumber, type KdPacket, type LinkEvent } from '@vmkd/kd-protocol';
import { wrapKdnetLink, type KdnetLinkShape } from './link-wrapper.js';

/**
 * The largest reply payload a KDNET debugger is sure to take: radare2 refuses any KD packet over
 * 2,048 payload bytes (its KD_MAX_PAYLOAD) yet asks for up to 2,048 data bytes per read
 * (kd-protocol.md §4.1 item 5). A real Windows target answers with about 1 KiB (kdnet.md §3), so
 * every KDNET debugger loops on a short read.
 */
export const KDNET_ENDPOINT_MAX_REPLY = 2048;

const MANIPULATE_SIZE = KdLimits.ManipulateSize;
const TRANSFER_COUNT = MANIPULATE_LAYOUTS.readMemory.transferCount.offset;
const READ_APIS: ReadonlySet<number> = new Set([KdApi.ReadVirtualMemory, KdApi.ReadPhysicalMemory]);

/**
 * A debugger's read request as the target behind a KDNET endpoint should see it: a
 * ReadVirtualMemory/ReadPhysicalMemory asking for more than a reply of `maxReply` payload bytes
 * can carry asks for just that much. The target's reply is then a short read, which debuggers
 * continue (radare2's `winkd_read_at` loops; WinDbg does the same with Windows's ~1 KiB replies).
 */
export function capReadRequest(packet: KdPacket, maxReply: number): KdPacket {
  if (packet.type !== KdPacketType.StateManipulate || packet.payload.length < MANIPULATE_SIZE) return packet;
  const view = new DataView(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength);
  const most = maxReply - MANIPULATE_SIZE;
  if (!READ_APIS.has(peekApiNumber(packet.payload) ?? 0) || view.getUint32(TRANSFER_COUNT, true) <= most) return packet;
  const payload = packet.payload.slice();
  new DataView(payload.buffer).setUint32(TRANSFER_COUNT, most, true);
  return { type: packet.type, payload };
}

/** The endpoint link with its debugger's reads capped (capReadRequest); everything else as it is. */
export function capReads(link: KdnetLinkShape, maxReply = KDNET_ENDPOINT_MAX_REPLY): KdnetLinkShape {
  const events$ = link.events$.pipe(map((e): LinkEvent => (e.kind === 'packet' ? { kind: 'packet', packet: capReadRequest(e.packet, maxReply) } : e)));
  return wrapKdnetLink(link, { events$ });
}
