import type { KdPacket } from '@vmkd/kd-protocol';
import { apiNumberOf, packetTypeName } from './kd-peek.js';

/** Placeholder decoder until kd-protocol's describeKdPacket is available. */
export function describePacket(packet: KdPacket): unknown {
  const api = apiNumberOf(packet);
  return { type: packetTypeName(packet.type), ...(api === undefined ? {} : { api: `0x${api.toString(16)}` }) };
}
