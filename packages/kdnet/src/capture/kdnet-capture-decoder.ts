import { formatKdcomEvent, kdChecksum, type KdArch } from '@vmkd/kd-protocol';
import { decodePoke, decodeResponse, deriveDataKey, type UdpAddress } from '../control.js';
import { decodeDatagram, KdnetChannel, KdnetDirection, precheckDatagram } from '../datagram.js';
import { parseKdFrame } from '../kd-frame.js';
import type { KdnetKeys } from '../key.js';
import type { CapturedFrame } from './capture-reader.js';
import { udpInFrame } from './udp-datagram.js';

export interface KdnetCaptureSummary {
  event: 'end';
  frames: number;
  udp: number;
  kdnet: number;
  authenticated: number;
  unauthenticated: number;
  sessions: number;
}

export interface DecodeCaptureOptions {
  readonly describe?: boolean;
  readonly raw?: boolean;
  readonly arch?: KdArch;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const where = (a: UdpAddress): string => (a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);

/**
 * Decrypts the KDNET sessions in a capture: finds each data key from the poke/response exchange
 * (kd-protocol.md §3) and yields, per KDNET datagram, the same JSON object `kd-decode` prints for a
 * KDCOM frame, plus `direction`, `sequence`, `channel`, addresses and time; a datagram that does
 * not authenticate (wrong key, a session whose response was not captured, damage) gets one
 * `unauthenticated` line with the reason. The final object sums it up.
 */
export function* decodeKdnetCapture(frames: readonly CapturedFrame[], keys: KdnetKeys, options: DecodeCaptureOptions = {}): Generator<Record<string, unknown>, KdnetCaptureSummary> {
  const summary: KdnetCaptureSummary = { event: 'end', frames: 0, udp: 0, kdnet: 0, authenticated: 0, unauthenticated: 0, sessions: 0 };
  /** Data keys by target address: a target that reboots gets a new one. */
  const dataKeys = new Map<string, Uint8Array>();
  for (const [index, frame] of frames.entries()) {
    summary.frames += 1;
    const udp = udpInFrame(frame.linkType, frame.data);
    if (udp === undefined) continue;
    summary.udp += 1;
    const pre = precheckDatagram(udp.payload);
    if (!pre.ok && pre.reason === 'magic') continue;
    summary.kdnet += 1;
    const base = { frame: index, time: frame.timeUs / 1e6, from: where(udp.from), to: where(udp.to) };
    // Which side is the target is only known once decrypted; try both ends' keys for data.
    const candidates = [dataKeys.get(where(udp.from)), dataKeys.get(where(udp.to))].filter((k): k is Uint8Array => k !== undefined);
    let decoded = decodeDatagram(udp.payload, (ch) => (ch === KdnetChannel.Control ? keys.controlKey : candidates[0]), keys.hmacKey);
    if (!decoded.ok && decoded.reason === 'hmac' && candidates.length > 1) decoded = decodeDatagram(udp.payload, () => candidates[1], keys.hmacKey);
    if (!decoded.ok) {
      summary.unauthenticated += 1;
      const reason = decoded.reason === 'unexpected' ? 'no-data-key' : decoded.reason;
      yield { event: 'unauthenticated', ...base, reason, length: udp.payload.length };
      continue;
    }
    summary.authenticated += 1;
    const direction = decoded.direction === KdnetDirection.ToTarget ? 'debugger→target' : 'target→debugger';
    const meta = { ...base, direction, sequence: decoded.sequence, channel: decoded.channel === KdnetChannel.Data ? 'data' : 'control', version: decoded.version };
    if (decoded.channel === KdnetChannel.Control) {
      const poke = decodePoke(decoded.body);
      const response = decodeResponse(decoded.body);
      if (decoded.body.length === 0) yield { event: 'poke-now', ...meta };
      else if (poke !== undefined && decoded.direction === KdnetDirection.ToDebugger) yield { event: 'poke', ...meta, nonce: hex(poke.nonce), hostPort: poke.hostPort };
      else if (response !== undefined && decoded.direction === KdnetDirection.ToTarget) {
        dataKeys.set(where(udp.to), deriveDataKey(keys.controlKey, decoded.body));
        summary.sessions += 1;
        yield { event: 'response', ...meta, pokeNonce: hex(response.pokeNonce), hostNonce: hex(response.hostNonce) };
      } else yield { event: 'control', ...meta, bodyHex: hex(decoded.body) };
      continue;
    }
    const kd = parseKdFrame(decoded.body);
    switch (kd.kind) {
      case 'data':
        yield {
          ...formatKdcomEvent(
            { kind: 'data', offset: index, type: kd.type, id: kd.id, byteCount: kd.payload.length, checksum: kdChecksum(kd.payload), payload: kd.payload },
            { describe: options.describe, raw: options.raw, arch: options.arch },
          ),
          ...meta,
        };
        break;
      case 'control':
        yield { ...formatKdcomEvent({ kind: 'control', offset: index, type: kd.type, id: kd.id, byteCount: 0, checksum: 0 }), ...meta };
        break;
      case 'breakin':
        yield { event: 'breakin', offset: index, ...meta };
        break;
      case 'conncheck':
        yield { event: 'conncheck', offset: index, ...meta };
        break;
      case 'bad':
        yield { event: 'bad-frame', offset: index, reason: kd.reason, ...meta, bodyHex: hex(decoded.body) };
        break;
    }
  }
  return summary;
}
