import { packetTypeName } from '../api/constants.js';
import { describeKdPacket } from '../api/describe.js';
import type { KdArch } from '../api/manipulate.js';
import { SYNC_PACKET_ID } from './constants.js';
import type { KdcomFrameEvent } from './frame-decoder.js';

export interface FormatKdcomEventOptions {
  /** Decode data packets into their KD message (API or state name and fields). Default true. */
  describe?: boolean;
  /** Add the payload as hex (`payloadHex`) to data frames. Default false. */
  raw?: boolean;
  /** Architecture for messages whose layout depends on it. Default `amd64`. */
  arch?: KdArch;
}

const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;
const hexBytes = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * One decoder event as a flat JSON-friendly object, with its stream offset (`kd-decode` prints one per line; router
 * traces use the same shape). `event` is `frame`, `bad-frame`, `breakin`, `garbage` or `resync`.
 */
export function formatKdcomEvent(event: KdcomFrameEvent, options: FormatKdcomEventOptions = {}): Record<string, unknown> {
  switch (event.kind) {
    case 'data': {
      const out: Record<string, unknown> = {
        event: 'frame',
        offset: event.offset,
        leader: 'data',
        type: event.type,
        typeName: packetTypeName(event.type),
        id: hex32(event.id),
        sync: (event.id & SYNC_PACKET_ID) !== 0,
        byteCount: event.byteCount,
        checksum: hex32(event.checksum),
        checksumOk: true,
      };
      if (options.describe !== false) out.message = describeKdPacket({ type: event.type, payload: event.payload }, { arch: options.arch ?? 'amd64' });
      if (options.raw === true) out.payloadHex = hexBytes(event.payload);
      return out;
    }
    case 'control':
      return {
        event: 'frame',
        offset: event.offset,
        leader: 'control',
        type: event.type,
        typeName: packetTypeName(event.type),
        id: hex32(event.id),
        byteCount: event.byteCount,
      };
    case 'bad-frame': {
      const out: Record<string, unknown> = {
        event: 'bad-frame',
        offset: event.offset,
        reason: event.reason,
        code: event.code,
        leader: event.leader,
        type: event.type,
        typeName: packetTypeName(event.type),
        id: hex32(event.id),
        byteCount: event.byteCount,
        checksum: hex32(event.checksum),
      };
      if (event.actualChecksum !== undefined) {
        out.checksumOk = false;
        out.actualChecksum = hex32(event.actualChecksum);
      }
      if (event.trailer !== undefined) out.trailer = `0x${event.trailer.toString(16).padStart(2, '0')}`;
      if (event.received !== undefined) out.received = event.received;
      return out;
    }
    case 'garbage':
      return { event: 'garbage', offset: event.offset, count: event.count };
    case 'breakin':
      return { event: 'breakin', offset: event.offset };
    case 'resync':
      return { event: 'resync', offset: event.offset };
  }
}
