import { isIPv4 } from 'node:net';
import type { UdpAddress } from '../control.js';
import { ipv6Form } from '../control.js';

/**
 * Records UDP datagrams as a classic pcap file (Ethernet, IPv4 or IPv6, UDP), the format Wireshark
 * and tcpdump write: `vmkd trace` keeps a KDNET route's datagrams this way, and `kd-decode
 * --kdnet-key` reads them back. Bounded: past `maxBytes` records are dropped and counted.
 */
export interface PcapRecorder {
  record(bytes: Uint8Array, from: UdpAddress, to: UdpAddress, timeUs?: number): void;
  /** The file so far: header and every record kept. */
  toBytes(): Uint8Array;
  readonly dropped: number;
}

export function createPcapRecorder(options: { maxBytes?: number } = {}): PcapRecorder {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const records: Uint8Array[] = [];
  let size = 24;
  let dropped = 0;
  return {
    record(bytes, from, to, timeUs = Date.now() * 1000) {
      const frame = ethernetUdp(bytes, from, to);
      if (size + 16 + frame.length > maxBytes) {
        dropped += 1;
        return;
      }
      const record = new Uint8Array(16 + frame.length);
      const view = new DataView(record.buffer);
      view.setUint32(0, Math.floor(timeUs / 1e6), true);
      view.setUint32(4, Math.floor(timeUs % 1e6), true);
      view.setUint32(8, frame.length, true);
      view.setUint32(12, frame.length, true);
      record.set(frame, 16);
      records.push(record);
      size += record.length;
    },
    toBytes() {
      const out = new Uint8Array(size);
      const view = new DataView(out.buffer);
      view.setUint32(0, 0xa1b2c3d4, true);
      view.setUint16(4, 2, true);
      view.setUint16(6, 4, true);
      view.setUint32(16, 262144, true);
      view.setUint32(20, 1, true); // LINKTYPE_ETHERNET
      let at = 24;
      for (const r of records) {
        out.set(r, at);
        at += r.length;
      }
      return out;
    },
    get dropped() {
      return dropped;
    },
  };
}

function ethernetUdp(payload: Uint8Array, from: UdpAddress, to: UdpAddress): Uint8Array {
  const v4 = isIPv4(from.address) && isIPv4(to.address);
  const ipLength = v4 ? 20 : 40;
  const frame = new Uint8Array(14 + ipLength + 8 + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint16(12, v4 ? 0x0800 : 0x86dd);
  const ip = 14;
  if (v4) {
    frame[ip] = 0x45;
    view.setUint16(ip + 2, 20 + 8 + payload.length);
    frame[ip + 8] = 64;
    frame[ip + 9] = 17;
    frame.set(from.address.split('.').map(Number), ip + 12);
    frame.set(to.address.split('.').map(Number), ip + 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += view.getUint16(ip + i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    view.setUint16(ip + 10, ~sum & 0xffff);
  } else {
    frame[ip] = 0x60;
    view.setUint16(ip + 4, 8 + payload.length);
    frame[ip + 6] = 17;
    frame[ip + 7] = 64;
    frame.set(ipv6Form(from.address), ip + 8);
    frame.set(ipv6Form(to.address), ip + 24);
  }
  const udp = ip + ipLength;
  view.setUint16(udp, from.port);
  view.setUint16(udp + 2, to.port);
  view.setUint16(udp + 4, 8 + payload.length);
  frame.set(payload, udp + 8);
  return frame;
}
