import type { UdpAddress } from '../control.js';

/** A UDP datagram found in a captured frame. */
export interface CapturedUdp {
  readonly from: UdpAddress;
  readonly to: UdpAddress;
  readonly payload: Uint8Array;
}

/**
 * Finds the UDP datagram in one captured frame: Ethernet (with 802.1Q tags), Linux cooked (SLL,
 * SLL2), raw IP or BSD loopback, then IPv4 (unfragmented) or IPv6 (fixed header, hop-by-hop,
 * routing and destination options skipped). Anything else is not a datagram: undefined.
 */
export function udpInFrame(linkType: number, frame: Uint8Array): CapturedUdp | undefined {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let at: number;
  let etherType: number;
  switch (linkType) {
    case 1: // Ethernet
      if (frame.length < 14) return undefined;
      at = 12;
      etherType = view.getUint16(at);
      at += 2;
      while ((etherType === 0x8100 || etherType === 0x88a8) && at + 4 <= frame.length) {
        etherType = view.getUint16(at + 2);
        at += 4;
      }
      break;
    case 113: // Linux cooked v1
      if (frame.length < 16) return undefined;
      etherType = view.getUint16(14);
      at = 16;
      break;
    case 276: // Linux cooked v2
      if (frame.length < 20) return undefined;
      etherType = view.getUint16(0);
      at = 20;
      break;
    case 0: // BSD loopback: a host-order address family
    case 109: {
      if (frame.length < 4) return undefined;
      const family = view.getUint32(0, true) > 0xffff ? view.getUint32(0, false) : view.getUint32(0, true);
      etherType = family === 2 ? 0x0800 : 0x86dd;
      at = 4;
      break;
    }
    case 101: // raw IP
    case 228:
    case 229:
    case 12:
      if (frame.length < 1) return undefined;
      etherType = frame[0] >> 4 === 4 ? 0x0800 : 0x86dd;
      at = 0;
      break;
    default:
      return undefined;
  }
  return etherType === 0x0800 ? ipv4(frame, view, at) : etherType === 0x86dd ? ipv6(frame, view, at) : undefined;
}

function ipv4(frame: Uint8Array, view: DataView, at: number): CapturedUdp | undefined {
  if (at + 20 > frame.length || frame[at] >> 4 !== 4) return undefined;
  const ihl = (frame[at] & 0x0f) * 4;
  const total = view.getUint16(at + 2);
  const fragment = view.getUint16(at + 6);
  // A fragment (more-fragments set or an offset) is not a whole datagram.
  if (frame[at + 9] !== 17 || (fragment & 0x3fff) !== 0 || ihl < 20) return undefined;
  const end = Math.min(frame.length, at + total);
  const from = Array.from(frame.subarray(at + 12, at + 16)).join('.');
  const to = Array.from(frame.subarray(at + 16, at + 20)).join('.');
  return udp(frame, view, at + ihl, end, from, to);
}

function ipv6(frame: Uint8Array, view: DataView, at: number): CapturedUdp | undefined {
  if (at + 40 > frame.length || frame[at] >> 4 !== 6) return undefined;
  const end = Math.min(frame.length, at + 40 + view.getUint16(at + 4));
  const from = ipv6Text(frame.subarray(at + 8, at + 24));
  const to = ipv6Text(frame.subarray(at + 24, at + 40));
  let next = frame[at + 6];
  let p = at + 40;
  while ((next === 0 || next === 43 || next === 60) && p + 8 <= end) {
    next = frame[p];
    p += (frame[p + 1] + 1) * 8;
  }
  return next === 17 ? udp(frame, view, p, end, from, to) : undefined;
}

function udp(frame: Uint8Array, view: DataView, at: number, end: number, from: string, to: string): CapturedUdp | undefined {
  if (at + 8 > end) return undefined;
  const length = view.getUint16(at + 4);
  if (length < 8 || at + length > end) return undefined;
  return {
    from: { address: from, port: view.getUint16(at) },
    to: { address: to, port: view.getUint16(at + 2) },
    payload: frame.subarray(at + 8, at + length),
  };
}

function ipv6Text(b: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => ((b[i * 2] << 8) | b[i * 2 + 1]).toString(16));
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}
