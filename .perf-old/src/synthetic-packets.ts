import { isMemoryTransferApi, KdLimits, KdPacketType, KdStateChange, NtStatus, type KdPacket } from '@vmkd/kd-protocol';

/** Size of `DBGKD_ANY_WAIT_STATE_CHANGE` without extra data (kd-protocol spec §2.5). */
const STATE_CHANGE_SIZE = KdLimits.StateChangeSize;
const MANIPULATE_SIZE = KdLimits.ManipulateSize;

/**
 * NTSTATUS the router puts in the reply to a request the vanished target never answered:
 * STATUS_PORT_DISCONNECTED ("attempt to send a message to a disconnected communication port").
 * A distinct value, so a debugger session can tell "target gone" from an API the target refused
 * (STATUS_UNSUCCESSFUL).
 */
export const TARGET_GONE_STATUS: number = NtStatus.PortDisconnected;

/**
 * The state change VirtualKD sends when the VM dies (virtualkd-kdrpc spec §7.3): LoadSymbols with
 * UnloadSymbols set and BaseOfDll = −1, no path. WinDbg shows the kernel unloaded and waits instead of
 * hanging on a request that can never be answered.
 *
 * Processor fields are copied from the last real state change when there was one, so the debugger
 * sees the same CPU count and processor level it already knows.
 */
export function createTargetGoneStateChange(lastReal?: KdPacket): KdPacket {
  const payload = new Uint8Array(STATE_CHANGE_SIZE);
  const view = new DataView(payload.buffer);
  const last =
    lastReal !== undefined && lastReal.payload.byteLength >= 0x0c
      ? new DataView(lastReal.payload.buffer, lastReal.payload.byteOffset, lastReal.payload.byteLength)
      : undefined;
  view.setUint32(0x00, KdStateChange.LoadSymbols, true);
  view.setUint16(0x04, last?.getUint16(0x04, true) ?? 0, true); // ProcessorLevel
  view.setUint16(0x06, last?.getUint16(0x06, true) ?? 0, true); // Processor
  view.setUint32(0x08, last?.getUint32(0x08, true) ?? 1, true); // NumberProcessors
  // Thread and ProgramCounter stay 0: there is no thread any more.
  view.setUint32(0x20, 0, true); // PathNameLength: no path follows
  view.setBigUint64(0x28, 0xffffffffffffffffn, true); // BaseOfDll = −1
  view.setBigUint64(0x30, 0n, true); // ProcessId
  view.setUint8(0x40, 1); // UnloadSymbols
  return { type: KdPacketType.StateChange64, payload };
}

/**
 * The answer to a manipulate request the target can no longer give: the request's 56-byte header
 * echoed (what a target always does, spec §1.9) with ReturnStatus = `status` and no extra data.
 */
export function createFailedReply(request: KdPacket, status: number = TARGET_GONE_STATUS): KdPacket {
  const payload = new Uint8Array(MANIPULATE_SIZE);
  payload.set(request.payload.subarray(0, MANIPULATE_SIZE));
  const view = new DataView(payload.buffer);
  view.setUint32(0x08, status >>> 0, true);
  // Memory APIs report a transfer count at 0x1C; nothing was transferred, whatever the request held.
  // Memory APIs: ActualBytesRead/Written at union offset 0x1C.
  if (isMemoryTransferApi(view.getUint32(0x00, true))) view.setUint32(0x1c, 0, true);
  return { type: KdPacketType.StateManipulate, payload };
}

/** True for the router's own "target gone" state change (a debugger-side helper can use it too). */
export function isTargetGoneStateChange(packet: KdPacket): boolean {
  if (packet.type !== KdPacketType.StateChange64 || packet.payload.byteLength < STATE_CHANGE_SIZE) return false;
  const view = new DataView(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength);
  return (
    view.getUint32(0x00, true) === KdStateChange.LoadSymbols &&
    view.getBigUint64(0x28, true) === 0xffffffffffffffffn &&
    view.getUint8(0x40) === 1
  );
}
