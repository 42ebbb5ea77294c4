import type { KdPacket } from '@vmkd/kd-protocol';

/**
 * The few KD facts the router needs to route well, read straight from payload offsets
 * (kd-protocol spec §1.3, §2.1, §2.2, §2.5). Full decoding for traces is `describeKdPacket()`;
 * these peeks stay tiny so the hot path never decodes a whole packet.
 */
export const PacketType = {
  StateManipulate: 2,
  DebugIo: 3,
  StateChange64: 7,
  TraceIo: 9,
  ControlRequest: 10,
  FileIo: 11,
} as const;

export const ManipulateApi = {
  Continue: 0x3136,
  Reboot: 0x313b,
  ContinueApi2: 0x313c,
  CauseBugCheck: 0x3149,
  SwitchProcessor: 0x3150,
  ClearAllInternalBreakpoints: 0x315a,
} as const;

export const StateChangeKind = { Exception: 0x3030, LoadSymbols: 0x3031, CommandString: 0x3032 } as const;

export const DebugIoApi = { PrintString: 0x3230, GetString: 0x3231 } as const;

const TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'STATE_CHANGE32',
  2: 'STATE_MANIPULATE',
  3: 'DEBUG_IO',
  4: 'ACKNOWLEDGE',
  5: 'RESEND',
  6: 'RESET',
  7: 'STATE_CHANGE64',
  9: 'TRACE_IO',
  10: 'CONTROL_REQUEST',
  11: 'FILE_IO',
};

export function packetTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE_${type}`;
}

function u32(payload: Uint8Array, offset: number): number | undefined {
  if (payload.byteLength < offset + 4) return undefined;
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(offset, true);
}

/** ApiNumber of a manipulate, debug-I/O or file-I/O packet (the first u32); undefined if too short. */
export function apiNumberOf(packet: KdPacket): number | undefined {
  return u32(packet.payload, 0);
}

export function isStateChange(packet: KdPacket): boolean {
  return packet.type === PacketType.StateChange64;
}

/** Continue / ContinueApi2: the target resumes and sends no reply. */
export function isContinue(packet: KdPacket): boolean {
  if (packet.type !== PacketType.StateManipulate) return false;
  const api = apiNumberOf(packet);
  return api === ManipulateApi.Continue || api === ManipulateApi.ContinueApi2;
}

/** A debugger→target manipulate request the target answers with a reply packet (§1.9). */
export function expectsReply(packet: KdPacket): boolean {
  if (packet.type !== PacketType.StateManipulate) return false;
  const api = apiNumberOf(packet);
  return (
    api !== undefined &&
    api !== ManipulateApi.Continue &&
    api !== ManipulateApi.ContinueApi2 &&
    api !== ManipulateApi.Reboot &&
    api !== ManipulateApi.CauseBugCheck &&
    api !== ManipulateApi.SwitchProcessor &&
    api !== ManipulateApi.ClearAllInternalBreakpoints
  );
}

/**
 * Packets that may be sacrificed when a queue overflows: DbgPrint text and trace buffers. Windows
 * itself drops them when no debugger answers (they are "quick timeout" packets, spec §1.8); state
 * changes, manipulate traffic, prompts and file I/O are never dropped in their favour.
 */
export function isDroppable(packet: KdPacket): boolean {
  if (packet.type === PacketType.TraceIo) return true;
  return packet.type === PacketType.DebugIo && apiNumberOf(packet) === DebugIoApi.PrintString;
}
