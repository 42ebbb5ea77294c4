import { from, mergeMap, share } from 'rxjs';
import { KdApi, KdLimits, KdPacketType, MANIPULATE_HEADER, MANIPULATE_LAYOUTS, ntSuccess, peekApiNumber, type KdPacket, type LinkEvent } from '@vmkd/kd-protocol';
import { wrapKdnetLink, type KdnetLinkShape } from './link-wrapper.js';

/**
 * The largest KD payload (16-byte KD header excluded) whose datagram fits one Ethernet frame over
 * IPv6 as well as IPv4: 6 + 8 + 16 + 1400 (no padding) + 16 = 1,446 bytes of UDP payload, under
 * the 1,452 of IPv6 and the 1,472 of IPv4 with a 1,500-byte MTU. kdnet.md §3: never assume that a
 * larger datagram, which the IP layer fragments, reaches a real target.
 */
export const KDNET_FRAME_KD_PAYLOAD = 1400;

/** DBGKD_MANIPULATE_STATE64 (kd-protocol.md §2.1, §2.3): its size and the WriteMemory64 fields, from kd-protocol's layout table. */
const MANIPULATE_SIZE = KdLimits.ManipulateSize;
const RETURN_STATUS = MANIPULATE_HEADER.returnStatus.offset;
const TARGET_BASE = MANIPULATE_LAYOUTS.writeMemory.targetBaseAddress.offset;
const TRANSFER_COUNT = MANIPULATE_LAYOUTS.writeMemory.transferCount.offset;
const ACTUAL_BYTES = MANIPULATE_LAYOUTS.writeMemory.actualBytesWritten.offset;

const SPLIT_APIS: ReadonlySet<number> = new Set([KdApi.WriteVirtualMemory, KdApi.WritePhysicalMemory]);

/** A large write being carried out as several smaller ones. */
export interface ActiveSplit {
  /** The debugger's request header (56 bytes), answered once every piece is written. */
  readonly header: Uint8Array;
  readonly base: bigint;
  readonly data: Uint8Array;
  /** Bytes handed to the target so far (the pieces sent). */
  readonly sent: number;
  /** The size of the piece in flight. */
  readonly piece: number;
  /** Bytes the target reported written. */
  readonly written: number;
}

export type SplitEffect = { readonly kind: 'send'; readonly packet: KdPacket } | { readonly kind: 'deliver'; readonly event: LinkEvent };

export interface SplitStep {
  readonly split: ActiveSplit | undefined;
  readonly effects: readonly SplitEffect[];
}

function apiOf(packet: KdPacket): number | undefined {
  if (packet.type !== KdPacketType.StateManipulate || packet.payload.length < MANIPULATE_SIZE) return undefined;
  return peekApiNumber(packet.payload);
}

function piecePacket(split: ActiveSplit, maxPayload: number): { packet: KdPacket; piece: number } {
  const piece = Math.min(split.data.length - split.sent, maxPayload - MANIPULATE_SIZE);
  const payload = new Uint8Array(MANIPULATE_SIZE + piece);
  payload.set(split.header);
  const view = new DataView(payload.buffer);
  view.setBigUint64(TARGET_BASE, split.base + BigInt(split.sent), true);
  view.setUint32(TRANSFER_COUNT, piece, true);
  view.setUint32(ACTUAL_BYTES, 0, true);
  payload.set(split.data.subarray(split.sent, split.sent + piece), MANIPULATE_SIZE);
  return { packet: { type: KdPacketType.StateManipulate, payload }, piece };
}

/**
 * A debugger's packet on its way to a KDNET target: a WriteVirtualMemory/WritePhysicalMemory too
 * large for one frame becomes its first piece (and the split that carries the rest); anything
 * else goes as it is.
 */
export function splitOutgoing(split: ActiveSplit | undefined, packet: KdPacket, maxPayload: number): { split: ActiveSplit | undefined; packet: KdPacket } {
  const api = apiOf(packet);
  if (split !== undefined || api === undefined || !SPLIT_APIS.has(api) || packet.payload.length <= maxPayload) return { split, packet };
  const view = new DataView(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength);
  const count = Math.min(view.getUint32(TRANSFER_COUNT, true), packet.payload.length - MANIPULATE_SIZE);
  const started: ActiveSplit = {
    header: packet.payload.slice(0, MANIPULATE_SIZE),
    base: view.getBigUint64(TARGET_BASE, true),
    data: packet.payload.slice(MANIPULATE_SIZE, MANIPULATE_SIZE + count),
    sent: 0,
    piece: 0,
    written: 0,
  };
  const first = piecePacket(started, maxPayload);
  return { split: { ...started, sent: first.piece, piece: first.piece }, packet: first.packet };
}

/**
 * What the target sent, while a write may be split: the reply to a piece sends the next piece, or
 * (the last piece, a failure, a short write) becomes one reply to the debugger's whole request,
 * with its address and count and the bytes written in total. A target that went away ends the
 * split; everything else passes.
 */
export function splitIncoming(split: ActiveSplit | undefined, event: LinkEvent, maxPayload: number): SplitStep {
  if (split === undefined) return { split, effects: [{ kind: 'deliver', event }] };
  if (event.kind === 'disconnect') return { split: undefined, effects: [{ kind: 'deliver', event }] };
  if (event.kind !== 'packet' || apiOf(event.packet) !== peekApiNumber(split.header)) return { split, effects: [{ kind: 'deliver', event }] };
  const reply = event.packet.payload;
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const status = view.getUint32(RETURN_STATUS, true);
  const actual = Math.min(view.getUint32(ACTUAL_BYTES, true), split.piece);
  const written = split.written + actual;
  if (ntSuccess(status) && actual === split.piece && split.sent < split.data.length) {
    const next = piecePacket({ ...split, written }, maxPayload);
    return { split: { ...split, written, sent: split.sent + next.piece, piece: next.piece }, effects: [{ kind: 'send', packet: next.packet }] };
  }
  const whole = reply.slice(0, Math.max(reply.length, MANIPULATE_SIZE));
  const out = new DataView(whole.buffer);
  out.setUint32(RETURN_STATUS, status, true);
  out.setBigUint64(TARGET_BASE, split.base, true);
  out.setUint32(TRANSFER_COUNT, split.data.length, true);
  out.setUint32(ACTUAL_BYTES, written, true);
  return { split: undefined, effects: [{ kind: 'deliver', event: { kind: 'packet', packet: { type: KdPacketType.StateManipulate, payload: whole } } }] };
}

/**
 * The KDNET guest link's send side, made to fit a real target (kdnet.md §3): a debugger's write
 * larger than one frame's worth is written piece by piece, each piece waiting for the target's
 * reply, and the debugger gets one reply for the whole. Reads need nothing: the target picks the
 * size of its replies and debuggers ask again for the rest.
 */
export function splitLargeWrites(link: KdnetLinkShape, maxPayload = KDNET_FRAME_KD_PAYLOAD): KdnetLinkShape {
  let split: ActiveSplit | undefined;
  // Each event of the link is stepped once, then shared: the split state must not see it twice.
  const events$ = link.events$.pipe(
    mergeMap((event) => {
      const step = splitIncoming(split, event, maxPayload);
      split = step.split;
      const delivered: LinkEvent[] = [];
      for (const effect of step.effects) {
        if (effect.kind === 'deliver') delivered.push(effect.event);
        // A piece the link cannot deliver fails with the link itself (it reports the target gone).
        else link.send(effect.packet).catch(() => undefined);
      }
      return from(delivered);
    }),
    share(),
  );
  return wrapKdnetLink(link, {
    events$,
    send(packet: KdPacket): Promise<void> {
      const next = splitOutgoing(split, packet, maxPayload);
      split = next.split;
      return link.send(next.packet);
    },
  });
}
