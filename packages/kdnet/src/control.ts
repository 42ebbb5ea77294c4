import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** Control-channel bodies (kdnet.md §2). */
export const POKE_KIND = 0x01;
export const RESPONSE_KIND = 0x02;
/** `01 01` + 32 random bytes: the short poke of older targets. */
export const POKE_MIN_BODY = 34;
/** The Windows 10+ poke: addresses in IPv6 form, the host-port word at offset 86. */
export const POKE_BODY_SIZE = 344;
export const RESPONSE_BODY_SIZE = 322;
export const NONCE_SIZE = 32;
/** Body offsets of the long poke (kdnet.md §2). */
export const PokeOffset = { source: 34, sourcePort: 50, destination: 52, destinationPort: 68, third: 70, hostPort: 86 } as const;

export interface UdpAddress {
  readonly address: string;
  readonly port: number;
}

export interface Poke {
  /** The target's 32 random bytes, echoed by the response. */
  readonly nonce: Uint8Array;
  /**
   * The big-endian host port at body offset 86: 0 until the target accepted a response, so 0
   * means a target that booted or rebooted. Undefined for the short (34-byte) poke, which only
   * a target without a session sends.
   */
  readonly hostPort: number | undefined;
}

export interface PokeResponse {
  readonly pokeNonce: Uint8Array;
  readonly hostNonce: Uint8Array;
}

export function decodePoke(body: Uint8Array): Poke | undefined {
  if (body.length < POKE_MIN_BODY || body[0] !== 0x01 || body[1] !== POKE_KIND) return undefined;
  const hostPort = body.length >= PokeOffset.hostPort + 2 ? (body[PokeOffset.hostPort] << 8) | body[PokeOffset.hostPort + 1] : undefined;
  return { nonce: body.slice(2, 2 + NONCE_SIZE), hostPort };
}

/** A Windows-10-shaped poke: source and destination in IPv6 form, `hostPort` 0 until connected. */
export function encodePoke(nonce: Uint8Array, source: UdpAddress, destination: UdpAddress, hostPort: number): Uint8Array {
  const body = new Uint8Array(POKE_BODY_SIZE);
  body[0] = 0x01;
  body[1] = POKE_KIND;
  body.set(nonce.subarray(0, NONCE_SIZE), 2);
  body.set(ipv6Form(source.address), PokeOffset.source);
  writeU16BE(body, PokeOffset.sourcePort, source.port);
  body.set(ipv6Form(destination.address), PokeOffset.destination);
  writeU16BE(body, PokeOffset.destinationPort, destination.port);
  body.set(ipv6Form(source.address), PokeOffset.third);
  writeU16BE(body, PokeOffset.hostPort, hostPort);
  return body;
}

/** The host's answer: `01 02`, the poke's nonce echoed, 32 random bytes of the host, 256 zero bytes. */
export function encodeResponse(pokeNonce: Uint8Array, hostNonce: Uint8Array): Uint8Array {
  const body = new Uint8Array(RESPONSE_BODY_SIZE);
  body[0] = 0x01;
  body[1] = RESPONSE_KIND;
  body.set(pokeNonce.subarray(0, NONCE_SIZE), 2);
  body.set(hostNonce.subarray(0, NONCE_SIZE), 2 + NONCE_SIZE);
  return body;
}

export function decodeResponse(body: Uint8Array): PokeResponse | undefined {
  if (body.length < RESPONSE_BODY_SIZE || body[0] !== 0x01 || body[1] !== RESPONSE_KIND) return undefined;
  return { pokeNonce: body.slice(2, 2 + NONCE_SIZE), hostNonce: body.slice(2 + NONCE_SIZE, 2 + 2 * NONCE_SIZE) };
}

/** Data key = SHA-256(control key ‖ the 322-byte response body) (kd-protocol.md §3). */
export function deriveDataKey(controlKey: Uint8Array, responseBody: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(controlKey).update(responseBody.subarray(0, RESPONSE_BODY_SIZE)).digest());
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An address in the 16-byte IPv6 form the poke uses (IPv4 as `::ffff:a.b.c.d`); zeros if unknown. */
export function ipv6Form(address: string): Uint8Array {
  const out = new Uint8Array(16);
  if (isIPv4(address)) {
    out[10] = 0xff;
    out[11] = 0xff;
    address.split('.').forEach((part, i) => (out[12 + i] = Number(part)));
    return out;
  }
  if (!isIPv6(address)) return out;
  const [head, tail = ''] = address.split('::');
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => Number.parseInt(w, 16)));
  const a = words(head);
  const b = address.includes('::') ? words(tail) : [];
  const all = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  all.forEach((w, i) => writeU16BE(out, i * 2, w));
  return out;
}

function writeU16BE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}
