import type { WireDatagram } from '@vmkd/kd-protocol';
import { parseKdnetKey } from '@vmkd/kdnet';
import { createPcapRecorder, decodeKdnetCapture, readCapture, type PcapRecorder } from '@vmkd/kdnet/decode';
import { usageError } from '../errors.js';
import type { TraceRecord } from './trace-record.js';

/** `127.0.0.1:50000`, `[::1]:50000`. */
function hostPort(address: { readonly address: string; readonly port: number }): string {
  return address.address.includes(':') ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

function parseHostPort(text: string): { address: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  return port > 65535 ? undefined : { address: m[1] ?? m[2] ?? '', port };
}

/**
 * The trace record of one datagram on a KDNET transport's wire (`vmkd route --trace-bytes`):
 * which side of the route, `in` (received by vmkd) or `out`, both UDP ends and the datagram as
 * it was sent, still encrypted. `vmkd trace --kdnet-key` decrypts them, as `kd-decode` does a capture.
 */
export function datagramRecord(side: 'guest' | 'endpoint', datagram: WireDatagram): object {
  return {
    t: performance.timeOrigin + performance.now(),
    kind: 'datagram',
    side,
    direction: datagram.direction,
    from: hostPort(datagram.from),
    to: hostPort(datagram.to),
    length: datagram.bytes.byteLength,
    bytes: Buffer.from(datagram.bytes.buffer, datagram.bytes.byteOffset, datagram.bytes.byteLength).toString('hex'),
  };
}

/** Largest capture the datagrams of one trace are gathered into before decoding. */
const MAX_CAPTURE_BYTES = 512 * 1024 * 1024;

/**
 * Gathers a trace's datagram records and decrypts them with a KDNET key: kdnet's capture decoder
 * finds each session's data key from the poke/response exchange (kd-protocol.md §3), so the
 * records go through it as the capture they would have been on the wire.
 */
export interface KdnetTraceDecoder {
  /** Takes a `datagram` record; false (and counted) when its fields are unusable. */
  add(record: TraceRecord): boolean;
  /** One object per datagram (what `kd-decode --kdnet-key` prints), then the summary. */
  decode(): Generator<Record<string, unknown>, Record<string, unknown>>;
  readonly datagrams: number;
  readonly unusable: number;
}

export function createKdnetTraceDecoder(keyText: string): KdnetTraceDecoder {
  let keys: ReturnType<typeof parseKdnetKey>;
  try {
    keys = parseKdnetKey(keyText);
  } catch (cause) {
    throw usageError(`--kdnet-key: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: { option: 'kdnet-key' } });
  }
  const recorder: PcapRecorder = createPcapRecorder({ maxBytes: MAX_CAPTURE_BYTES });
  let datagrams = 0;
  let unusable = 0;
  return {
    add(record) {
      const from = typeof record['from'] === 'string' ? parseHostPort(record['from']) : undefined;
      const to = typeof record['to'] === 'string' ? parseHostPort(record['to']) : undefined;
      const hex = record['bytes'];
      if (from === undefined || to === undefined || typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
        unusable += 1;
        return false;
      }
      datagrams += 1;
      recorder.record(Buffer.from(hex, 'hex'), from, to, typeof record.t === 'number' ? Math.round(record.t * 1000) : undefined);
      return true;
    },
    *decode() {
      const frames = readCapture(recorder.toBytes());
      const summary = yield* decodeKdnetCapture(frames, keys, { describe: true });
      return { ...summary, datagrams, unusable, droppedFromCapture: recorder.dropped };
    },
    get datagrams() {
      return datagrams;
    },
    get unusable() {
      return unusable;
    },
  };
}
