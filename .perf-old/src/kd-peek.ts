import { KdApi, KdDebugIoApi, KdPacketType, type KdPacket } from '@vmkd/kd-protocol';

/**
 * The few KD facts the router needs to route well, read straight from payload offsets
 * (kd-protocol spec §1.3, §2.1, §2.2). Full decoding for traces is `describeKdPacket()`; these
 * peeks stay tiny so the hot path never decodes a whole packet.
 */

/** ApiNumber of a manipulate, debug-I/O or file-I/O packet (the first u32); undefined if too short. */
export function apiNumberOf(packet: KdPacket): number | undefined {
  const { payload } = packet;
  if (payload.byteLength < 4) return undefined;
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
}

export function isStateChange(packet: KdPacket): boolean {
  return packet.type === KdPacketType.StateChange64;
}

/** Continue / ContinueApi2: the target resumes and sends no reply. */
export function isContinue(packet: KdPacket): boolean {
  if (packet.type !== KdPacketType.StateManipulate) return false;
  const api = apiNumberOf(packet);
  return api === KdApi.Continue || api === KdApi.ContinueApi2;
}

/**
 * Requests after which the target leaves its stopped loop (spec §1.9): it resumes, or another CPU,
 * a reboot or a bugcheck reports a new stop. The stop the debugger had is over.
 */
export function resumesTarget(packet: KdPacket): boolean {
  if (packet.type !== KdPacketType.StateManipulate) return false;
  const api = apiNumberOf(packet);
  return api === KdApi.Continue || api === KdApi.ContinueApi2 || api === KdApi.SwitchProcessor || api === KdApi.Reboot || api === KdApi.CauseBugCheck;
}

/** APIs a target never answers (spec §1.9): resume, reboot, bugcheck, processor switch. */
const NO_REPLY: ReadonlySet<number> = new Set([
  KdApi.Continue,
  KdApi.ContinueApi2,
  KdApi.Reboot,
  KdApi.CauseBugCheck,
  KdApi.SwitchProcessor,
  KdApi.ClearAllInternalBreakpoints,
]);

/** A debugger→target manipulate request the target answers with a reply packet. */
export function expectsReply(packet: KdPacket): boolean {
  if (packet.type !== KdPacketType.StateManipulate) return false;
  const api = apiNumberOf(packet);
  return api !== undefined && !NO_REPLY.has(api);
}

/**
 * Packets that may be sacrificed when a queue overflows: DbgPrint text and trace buffers. Windows
 * itself drops them when no debugger answers (they are "quick timeout" packets, spec §1.8); state
 * changes, manipulate traffic, prompts and file I/O are never dropped in their favour.
 */
export function isDroppable(packet: KdPacket): boolean {
  if (packet.type === KdPacketType.TraceIo) return true;
  return packet.type === KdPacketType.DebugIo && apiNumberOf(packet) === KdDebugIoApi.PrintString;
}
