import { createHash } from 'node:crypto';
import { KdPacketType } from '@vmkd/kd-protocol';
import { describe, expect, it } from 'vitest';
import {
  KdnetChannel,
  KdnetDirection,
  KdnetErrorCode,
  decodeDatagram,
  decodePoke,
  decodeResponse,
  deriveDataKey,
  encodeDatagram,
  encodeResponse,
  parseKdFrame,
  parseKdnetKey,
  type KdnetDatagram,
} from '../src/index.js';
import { LIBKDNET_KEY, hex, libKdnet } from './fixtures/libkdnet.js';
import { RADARE2_RESPONSE_TO_LIBKDNET_POKE } from '../src/testing/index.js';

const keys = parseKdnetKey(LIBKDNET_KEY);
const control = (): Uint8Array => keys.controlKey;

function open(name: keyof typeof libKdnet, dataKey?: Uint8Array): KdnetDatagram {
  const result = decodeDatagram(hex(libKdnet[name]), (ch) => (ch === KdnetChannel.Control ? keys.controlKey : dataKey), keys.hmacKey);
  if (!result.ok) throw new Error(`${name}: ${result.reason}`);
  return result;
}

describe('KDNET keys (kdnet.md §4)', () => {
  it('1.1.1.1 is four little-endian 64-bit ones; the HMAC key is its bitwise NOT', () => {
    const expected = new Uint8Array(32);
    for (let i = 0; i < 4; i++) expected[i * 8] = 1;
    expect(Array.from(keys.controlKey)).toEqual(Array.from(expected));
    expect(Array.from(keys.hmacKey)).toEqual(Array.from(expected, (b) => ~b & 0xff));
  });

  it('reads base 36 up to 13 characters and 64 bits, case-insensitively', () => {
    const k = parseKdnetKey('Z.10.3w5e11264sgsf.0');
    const view = new DataView(k.controlKey.buffer);
    expect(view.getBigUint64(0, true)).toBe(35n);
    expect(view.getBigUint64(8, true)).toBe(36n);
    expect(view.getBigUint64(16, true)).toBe((1n << 64n) - 1n);
    expect(view.getBigUint64(24, true)).toBe(0n);
    expect(k.text).toBe('z.10.3w5e11264sgsf.0');
  });

  it.each([
    ['1.1.1', /four dot-separated parts/, undefined],
    ['1.1.1.1.1', /four dot-separated parts/, undefined],
    ['1.1..1', /component 3 \(y\)/, 3],
    ['1.x-y.1.1', /component 2 \(x\)/, 2],
    ['1.1.1.12345678901234', /component 4 \(z\)/, 4],
    ['3w5e11264sgsg.1.1.1', /component 1 \(w\) .* exceeds 64 bits/, 1],
  ])('refuses %s with ERR_KDNET_BAD_KEY naming the component', (text, message, component) => {
    let caught: unknown;
    try {
      parseKdnetKey(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: KdnetErrorCode.BadKey });
    expect(String((caught as Error).message)).toMatch(message);
    if (component !== undefined) expect((caught as { details: { component: number } }).details.component).toBe(component);
  });
});

describe('libKDNET datagrams (a real WinDbg session, key 1.1.1.1)', () => {
  const poke = open('poke');
  const response = open('pokeResp');
  const dataKey = deriveDataKey(control(), response.body);

  it('the poke: control channel, version 2, target→debugger, the 344-byte body with the host port at 86', () => {
    expect(poke).toMatchObject({ version: 2, channel: KdnetChannel.Control, direction: KdnetDirection.ToDebugger, sequence: 0xa86 });
    expect(poke.body.length).toBe(344);
    const parsed = decodePoke(poke.body)!;
    // 50000, not 0: the target already had a data channel when the capture began (its sequence
    // number is far from 1), and a debugger without a session answers such a poke too.
    expect(parsed.hostPort).toBe(50000);
    // The source address in IPv6 form: ::ffff:192.168.0.13, port 50000.
    expect(Buffer.from(poke.body.subarray(34, 52)).toString('hex')).toBe('00000000000000000000ffffc0a8000dc350');
  });

  it('the response echoes the poke nonce, carries its sequence number and is the 322 bytes we would build', () => {
    expect(response).toMatchObject({ channel: KdnetChannel.Control, direction: KdnetDirection.ToTarget, sequence: poke.sequence });
    const parsed = decodeResponse(response.body)!;
    expect(Buffer.from(parsed.pokeNonce).equals(Buffer.from(decodePoke(poke.body)!.nonce))).toBe(true);
    expect(Array.from(encodeResponse(parsed.pokeNonce, parsed.hostNonce))).toEqual(Array.from(response.body));
  });

  it('re-encoding the response with its own sequence word gives the captured bytes exactly', () => {
    const again = encodeDatagram(response, keys.controlKey, keys.hmacKey);
    expect(Buffer.from(again).toString('hex')).toBe(libKdnet.pokeResp);
  });

  it('data key = SHA-256(control key ‖ response body) opens the data channel', () => {
    expect(Buffer.from(dataKey).equals(createHash('sha256').update(control()).update(response.body).digest())).toBe(true);
    const check = open('conncheck', dataKey);
    expect(check).toMatchObject({ channel: KdnetChannel.Data, direction: KdnetDirection.ToDebugger, sequence: 2 });
    expect(parseKdFrame(check.body)).toEqual({ kind: 'conncheck' });
    // The id word carried the host's IPv4 address, little-endian: 192.168.0.11.
    expect(Array.from(check.body.subarray(8, 12))).toEqual([11, 0, 168, 192]);
    const answer = open('conncheckResp', dataKey);
    expect(answer).toMatchObject({ direction: KdnetDirection.ToTarget, sequence: 1 });
    expect(parseKdFrame(answer.body)).toEqual({ kind: 'control', type: KdPacketType.Resend, id: 0 });
  });

  it('break-in is a one-byte KD part; the state change and KD requests are KD packets without the trailer', () => {
    expect(parseKdFrame(open('breakData', dataKey).body)).toEqual({ kind: 'breakin' });
    const stop = parseKdFrame(open('waitState', dataKey).body);
    expect(stop).toMatchObject({ kind: 'data', type: KdPacketType.StateChange64, id: 0x926 });
    expect(stop.kind === 'data' && stop.payload.length).toBe(240);
    const request = parseKdFrame(open('getVersionApiReq', dataKey).body);
    expect(request).toMatchObject({ kind: 'data', type: KdPacketType.StateManipulate, id: 0x80000000 });
    expect(request.kind === 'data' && new DataView(request.payload.buffer, request.payload.byteOffset).getUint32(0, true)).toBe(0x3146);
    expect(parseKdFrame(open('getVersionApiResp', dataKey).body)).toMatchObject({ kind: 'data', type: KdPacketType.StateManipulate, id: 0x928 });
    expect(parseKdFrame(open('readVirtualMemoryApiReqAck', dataKey).body)).toEqual({ kind: 'control', type: KdPacketType.Acknowledge, id: 0x80000008 });
    const read = parseKdFrame(open('readVirtualMemoryApiResp', dataKey).body);
    expect(read).toMatchObject({ kind: 'data', type: KdPacketType.StateManipulate, id: 0x930 });
    expect(read.kind === 'data' && read.payload.length).toBe(0x13d);
    expect(parseKdFrame(open('reset', dataKey).body)).toEqual({ kind: 'control', type: KdPacketType.Reset, id: 0x80000000 });
  });

  it('every byte flipped anywhere fails authentication or the magic/length checks: never a decoded datagram', () => {
    const bytes = hex(libKdnet.getVersionApiReq);
    for (let i = 0; i < bytes.length; i++) {
      const copy = bytes.slice();
      copy[i] ^= 0x01;
      const result = decodeDatagram(copy, () => dataKey, keys.hmacKey);
      expect(result.ok, `byte ${i}`).toBe(false);
    }
  });

  it('the wrong key, a truncated datagram, a bad magic and an unknown channel are refused with their reason', () => {
    const other = parseKdnetKey('1.1.1.2');
    const bytes = hex(libKdnet.poke);
    expect(decodeDatagram(bytes, () => other.controlKey, other.hmacKey)).toEqual({ ok: false, reason: 'hmac' });
    expect(decodeDatagram(bytes.subarray(0, bytes.length - 1), control, keys.hmacKey)).toEqual({ ok: false, reason: 'length' });
    expect(decodeDatagram(bytes.subarray(0, 20), control, keys.hmacKey)).toEqual({ ok: false, reason: 'length' });
    const magic = bytes.slice();
    magic[0] = 0x4e;
    expect(decodeDatagram(magic, control, keys.hmacKey)).toEqual({ ok: false, reason: 'magic' });
    const channel = bytes.slice();
    channel[5] = 7;
    expect(decodeDatagram(channel, control, keys.hmacKey)).toEqual({ ok: false, reason: 'channel' });
    expect(decodeDatagram(hex(libKdnet.conncheck), () => undefined, keys.hmacKey)).toEqual({ ok: false, reason: 'unexpected' });
  });

  it('a datagram we build decodes to what we put in, for every padding length', () => {
    for (let length = 0; length < 40; length++) {
      const body = Uint8Array.from({ length }, (_, i) => i * 7);
      const built = encodeDatagram({ version: 4, channel: 0, sequence: 0x123456789a, direction: KdnetDirection.ToTarget, body }, dataKey, keys.hmacKey);
      expect((built.length - 22) % 16).toBe(0);
      const back = decodeDatagram(built, () => dataKey, keys.hmacKey);
      expect(back).toMatchObject({ ok: true, version: 4, channel: 0, sequence: 0x123456789a, direction: KdnetDirection.ToTarget });
      expect(back.ok && Array.from(back.body)).toEqual(Array.from(body));
    }
  });
});

describe('radare2’s response to the Windows poke (captured from radare2 with its KDNET crypto fixed)', () => {
  it('authenticates with the same key, echoes the poke’s nonce, sequence and version, and is the 322-byte body vmkd builds', () => {
    const poke = open('poke');
    const response = decodeDatagram(hex(RADARE2_RESPONSE_TO_LIBKDNET_POKE), (ch) => (ch === KdnetChannel.Control ? keys.controlKey : undefined), keys.hmacKey);
    if (!response.ok) throw new Error(`radare2's response: ${response.reason}`);
    expect(response.channel).toBe(KdnetChannel.Control);
    expect(response.direction).toBe(KdnetDirection.ToTarget);
    expect(response.sequence).toBe(poke.sequence);
    expect(response.version).toBe(poke.version);
    const body = decodeResponse(response.body)!;
    expect(Buffer.from(body.pokeNonce).equals(Buffer.from(decodePoke(poke.body)!.nonce))).toBe(true);
    expect(Buffer.from(response.body).equals(Buffer.from(encodeResponse(body.pokeNonce, body.hostNonce)))).toBe(true);
    // vmkd's encoder, given radare2's random bytes, writes radare2's datagram byte for byte.
    const again = encodeDatagram({ ...response, body: response.body }, keys.controlKey, keys.hmacKey);
    expect(Buffer.from(again).toString('hex')).toBe(RADARE2_RESPONSE_TO_LIBKDNET_POKE);
    expect(deriveDataKey(keys.controlKey, response.body)).toHaveLength(32);
  });
});
