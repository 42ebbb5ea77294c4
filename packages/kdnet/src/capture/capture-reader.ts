import { gunzipSync } from 'node:zlib';
import { KdnetErrorCode, kdnetError } from '../errors.js';

/** One captured frame, as pcap and pcapng both describe it. */
export interface CapturedFrame {
  /** Microseconds since the Unix epoch. */
  readonly timeUs: number;
  /** The link-layer type of its interface (1 Ethernet, 101 raw IP, 113 Linux SLL, 276 SLL2, 0 BSD loopback). */
  readonly linkType: number;
  readonly data: Uint8Array;
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
/** Largest block or packet we read; refused before allocation beyond it. */
const MAX_BLOCK = 16 * 1024 * 1024;

/**
 * Reads a capture file: classic pcap (either byte order, µs or ns timestamps) or pcapng (section,
 * interface and enhanced/simple packet blocks), gzip-compressed or not. Anything else, or a file
 * cut short, is `ERR_KDNET_BAD_CAPTURE` naming the offset; a truncated last record is refused too.
 */
export function readCapture(file: Uint8Array): CapturedFrame[] {
  let bytes = file;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes, { maxOutputLength: 1024 * 1024 * 1024 }));
    } catch (cause) {
      throw kdnetError(KdnetErrorCode.BadCapture, `capture: gzip data is corrupt (${String(cause)})`);
    }
  }
  if (bytes.length < 4) throw kdnetError(KdnetErrorCode.BadCapture, 'capture: file too short to be pcap or pcapng', { size: bytes.length });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = view.getUint32(0, true);
  const magicBe = view.getUint32(0, false);
  if (magicBe === PCAPNG_SHB) return readPcapng(bytes, view);
  if (magicLe === PCAP_US || magicLe === PCAP_NS) return readPcap(view, true, magicLe === PCAP_NS);
  if (magicBe === PCAP_US || magicBe === PCAP_NS) return readPcap(view, false, magicBe === PCAP_NS);
  throw kdnetError(KdnetErrorCode.BadCapture, `capture: not pcap or pcapng (first word 0x${magicBe.toString(16).padStart(8, '0')})`);
}

function short(offset: number, what: string): never {
  throw kdnetError(KdnetErrorCode.BadCapture, `capture: cut short in ${what} at offset ${offset}`, { offset });
}

function readPcap(view: DataView, le: boolean, nanos: boolean): CapturedFrame[] {
  if (view.byteLength < 24) short(0, 'the pcap header');
  const linkType = view.getUint32(20, le) & 0x0fffffff;
  const frames: CapturedFrame[] = [];
  for (let at = 24; at < view.byteLength; ) {
    if (at + 16 > view.byteLength) short(at, 'a record header');
    const sec = view.getUint32(at, le);
    const frac = view.getUint32(at + 4, le);
    const length = view.getUint32(at + 8, le);
    if (length > MAX_BLOCK) throw kdnetError(KdnetErrorCode.BadCapture, `capture: record of ${length} bytes at offset ${at} is implausible`, { offset: at });
    if (at + 16 + length > view.byteLength) short(at, 'a record');
    frames.push({
      timeUs: sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac),
      linkType,
      data: new Uint8Array(view.buffer, view.byteOffset + at + 16, length),
    });
    at += 16 + length;
  }
  return frames;
}

function readPcapng(bytes: Uint8Array, view: DataView): CapturedFrame[] {
  const frames: CapturedFrame[] = [];
  let le = true;
  let interfaces: { linkType: number; unitsPerSecond: number }[] = [];
  for (let at = 0; at < view.byteLength; ) {
    if (at + 12 > view.byteLength) short(at, 'a block header');
    const type = view.getUint32(at, le) >>> 0;
    if (type === PCAPNG_SHB) {
      // The byte-order magic decides how this section reads.
      const bom = view.getUint32(at + 8, true);
      le = bom === 0x1a2b3c4d;
      if (!le && view.getUint32(at + 8, false) !== 0x1a2b3c4d) throw kdnetError(KdnetErrorCode.BadCapture, `capture: bad pcapng byte-order magic at ${at}`);
      interfaces = [];
    }
    const length = view.getUint32(at + 4, le);
    if (length < 12 || length % 4 !== 0 || length > MAX_BLOCK) throw kdnetError(KdnetErrorCode.BadCapture, `capture: pcapng block of length ${length} at offset ${at}`, { offset: at });
    if (at + length > view.byteLength) short(at, 'a pcapng block');
    const body = at + 8;
    if (type === 1) {
      // Interface description: link type, then options (if_tsresol decides the time unit).
      let unitsPerSecond = 1e6;
      for (let o = body + 8; o + 4 <= at + length - 4; ) {
        const code = view.getUint16(o, le);
        const len = view.getUint16(o + 2, le);
        if (code === 0) break;
        if (code === 9 && len >= 1) {
          const r = bytes[o + 4];
          unitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        }
        o += 4 + ((len + 3) & ~3);
      }
      interfaces.push({ linkType: view.getUint16(body, le), unitsPerSecond });
    } else if (type === 6) {
      const iface = interfaces[view.getUint32(body, le)];
      const captured = view.getUint32(body + 12, le);
      if (iface === undefined || body + 20 + captured > at + length) throw kdnetError(KdnetErrorCode.BadCapture, `capture: enhanced packet block at ${at} is inconsistent`, { offset: at });
      const ticks = view.getUint32(body + 4, le) * 2 ** 32 + view.getUint32(body + 8, le);
      frames.push({ timeUs: Math.floor((ticks / iface.unitsPerSecond) * 1e6), linkType: iface.linkType, data: bytes.subarray(body + 20, body + 20 + captured) });
    } else if (type === 3) {
      const iface = interfaces[0];
      if (iface !== undefined) {
        const original = view.getUint32(body, le);
        frames.push({ timeUs: 0, linkType: iface.linkType, data: bytes.subarray(body + 4, body + 4 + Math.min(original, length - 16)) });
      }
    }
    at += length;
  }
  return frames;
}
