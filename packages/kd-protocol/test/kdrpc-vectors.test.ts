import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { KdRecvCode, KdrpcErrorCode, KdrpcVersion, checkKdrpcTestPattern, decodeKdrpcReply, decodeKdrpcRequest, encodeKdrpcReply, encodeKdrpcRequest, isVmkdError, kdrpcGlobals, kdrpcTestPattern, kdrpcTestRequest, stripKdrpcPrefix, withKdrpcPrefix, withKdrpcStatusPrefix, type KdrpcRequest } from '../src/index.js';

/** Parses the spec's hex dumps ("00: 73 04 …" offsets allowed). */
function hex(text: string): Uint8Array {
  const bytes = text
    .split('\n')
    .map((line) => line.replace(/^\s*[0-9a-f]{2}:\s/i, ''))
    .join(' ')
    .trim()
    .split(/\s+/)
    .map((b) => Number.parseInt(b, 16));
  return Uint8Array.from(bytes);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isVmkdError(error) ? error.code : `non-vmkd: ${String(error)}`;
  }
  return undefined;
}

describe('KDRPC vectors of virtualkd-kdrpc §4.11', () => {
  it('v request, as the guest sends it (13 bytes)', () => {
    const wire = hex('7E 6B 64 56 4D 76 41 20 76 03 00 E8 07');
    expect(withKdrpcPrefix(encodeKdrpcRequest({ command: 'v', version: KdrpcVersion.Redux2024_3 }))).toEqual(wire);
    expect(decodeKdrpcRequest(stripKdrpcPrefix(wire))).toEqual({ command: 'v', version: 0x07e80003 });
  });

  it('v reply, as the guest receives it (15 bytes)', () => {
    const wire = hex('31 20 2B 2B 6B 64 56 4D 76 41 20 03 00 E8 07');
    expect(withKdrpcStatusPrefix(encodeKdrpcReply({ command: 'v', version: 0x07e80003 }))).toEqual(wire);
    expect(decodeKdrpcReply('v', wire, { statusPrefix: 'required' })).toEqual({ command: 'v', version: 0x07e80003 });
  });

  const pollRequest: KdrpcRequest = {
    command: 'r',
    packetType: 8,
    globals: 0x104,
    buffer1: { length: 0, maxLength: 0 },
    buffer2: { length: 0, maxLength: 0 },
    context: { retryCount: 0, breakInRequested: false },
  };

  it('r break-in poll (31 bytes with the prefix)', () => {
    const wire = hex('7E 6B 64 56 4D 76 41 20 72 08 00 00 00 04 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
    expect(wire.length).toBe(31);
    expect(withKdrpcPrefix(encodeKdrpcRequest(pollRequest))).toEqual(wire);
    expect(decodeKdrpcRequest(stripKdrpcPrefix(wire))).toEqual(pollRequest);
    expect(kdrpcGlobals({ debuggerPresent: true, kdDebuggerEnabled: 1 })).toBe(0x104);
  });

  it('r reply to the poll: TIMEOUT, nothing delivered (44 bytes)', () => {
    const wire = hex(`2B 2B 6B 64 56 4D 76 41 20 72 00 00 00 00 00 00 00 00 00 00 00 00 00 00
      01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 01 00 00`);
    expect(wire.length).toBe(44);
    const reply = {
      command: 'r' as const,
      buffer1: { length: 0, maxLength: 0 },
      buffer2: { length: 0, maxLength: 0 },
      context: { retryCount: 0, breakInRequested: false },
      status: KdRecvCode.Timeout,
      payloadBytes: 0,
      globals: 0x104,
      data1: new Uint8Array(0),
      data2: new Uint8Array(0),
    };
    expect(encodeKdrpcReply(reply)).toEqual(wire);
    expect(decodeKdrpcReply('r', wire)).toEqual(reply);
  });

  const sendRequest: KdrpcRequest = {
    command: 's',
    buffer1: { length: 4, maxLength: 4 },
    buffer2: { length: 2, maxLength: 2 },
    context: { retryCount: 10, breakInRequested: false },
    packetType: 3,
    globals: 0x104,
    data1: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
    data2: Uint8Array.of(0x12, 0x34),
  };

  it('s body (37 bytes)', () => {
    const wire = hex(`00: 73 04 00 04 00 02 00 02 00 0A 00 00 00 00 00 03
      10: 00 00 00 04 00 00 00 02 00 00 00 04 01 00 00 DE
      20: AD BE EF 12 34`);
    expect(wire.length).toBe(37);
    expect(encodeKdrpcRequest(sendRequest)).toEqual(wire);
    expect(decodeKdrpcRequest(wire)).toEqual(sendRequest);
  });

  it('s reply asking the guest to retry (20 bytes)', () => {
    const wire = hex('2B 2B 6B 64 56 4D 76 41 20 73 0A 00 00 00 00 00 06 01 00 00');
    const reply = { command: 's' as const, context: { retryCount: 10, breakInRequested: false }, globals: 0x106 };
    expect(encodeKdrpcReply(reply)).toEqual(wire);
    expect(decodeKdrpcReply('s', wire)).toEqual(reply);
    expect(kdrpcGlobals({ debuggerPresent: true, kdDebuggerEnabled: 1, retry: true })).toBe(0x106);
  });

  it('t request and reply patterns', () => {
    const body = encodeKdrpcRequest(kdrpcTestRequest());
    expect(body.length).toBe(513);
    expect(body[0]).toBe(0x74);
    expect(Array.from(body.subarray(1, 5))).toEqual([0, 1, 2, 3]);
    expect(body[256 + 1]).toBe(0);
    expect(body[512]).toBe(0xff);
    const reply = encodeKdrpcReply({ command: 't', pattern: kdrpcTestPattern('reply') });
    expect(reply.length).toBe(521);
    expect(Array.from(reply.subarray(9, 17))).toEqual([0x55, 0x54, 0x57, 0x56, 0x51, 0x50, 0x53, 0x52]);
    const decoded = decodeKdrpcReply('t', reply);
    expect(decoded.command).toBe('t');
    if (decoded.command === 't') expect(() => checkKdrpcTestPattern('reply', decoded.pattern)).not.toThrow();
  });

  it('r reply with data: 44 + size1 + size2, and the 0x250 poll-skip header', () => {
    const reply = {
      command: 'r' as const,
      buffer1: { length: 3, maxLength: 56 },
      buffer2: { length: 2, maxLength: 4000 },
      context: { retryCount: 0, breakInRequested: true },
      status: KdRecvCode.Ok,
      payloadBytes: 2,
      globals: 0x104,
      data1: Uint8Array.of(1, 2, 3),
      data2: Uint8Array.of(4, 5),
    };
    const bytes = encodeKdrpcReply(reply);
    expect(bytes.length).toBe(49);
    expect(bytes[22]).toBe(1); // BreakInRequested at 18 + 4
    expect(decodeKdrpcReply('r', bytes)).toEqual(reply);
    const skip = encodeKdrpcReply({ ...reply, pollIterationsToSkip: 7 });
    expect(skip.length).toBe(53);
    expect(decodeKdrpcReply('r', skip, { pollSkip: true })).toEqual({ ...reply, pollIterationsToSkip: 7 });
  });
});

describe('malformed KDRPC input (§4.9) is refused with a code that names the field', () => {
  it.each([
    ['empty body', new Uint8Array(0), KdrpcErrorCode.Empty],
    ['unknown command', Uint8Array.of(0x71, 0, 0), KdrpcErrorCode.UnknownCommand],
    ['v truncated', Uint8Array.of(0x76, 1, 0), KdrpcErrorCode.BadLength],
    ['t short', new Uint8Array(100).fill(0x74, 0, 1), KdrpcErrorCode.BadLength],
    ['r 22 bytes', new Uint8Array(22).fill(0x72, 0, 1), KdrpcErrorCode.BadLength],
    ['r 24 bytes', new Uint8Array(24).fill(0x72, 0, 1), KdrpcErrorCode.BadLength],
    ['s shorter than 31', new Uint8Array(30).fill(0x73, 0, 1), KdrpcErrorCode.BadLength],
  ])('%s', (_name, body, code) => {
    expect(codeOf(() => decodeKdrpcRequest(body))).toBe(code);
  });

  it('s whose sizes disagree with its length', () => {
    const good = encodeKdrpcRequest({
      command: 's',
      buffer1: { length: 4, maxLength: 4 },
      buffer2: { length: 0, maxLength: 0 },
      context: { retryCount: 0, breakInRequested: false },
      packetType: 2,
      globals: 0,
      data1: Uint8Array.of(1, 2, 3, 4),
      data2: new Uint8Array(0),
    });
    expect(codeOf(() => decodeKdrpcRequest(good.subarray(0, good.length - 1)))).toBe(KdrpcErrorCode.BadLength);
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(codeOf(() => decodeKdrpcRequest(longer))).toBe(KdrpcErrorCode.BadLength);
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(19, 0xffffffff, true);
    expect(codeOf(() => decodeKdrpcRequest(huge))).toBe(KdrpcErrorCode.BadSize);
    try {
      decodeKdrpcRequest(huge);
    } catch (error) {
      expect(isVmkdError(error) && error.details['field']).toBe('size1');
    }
  });

  it('bad prefix, status prefix, signature, echo and sizes in replies', () => {
    expect(codeOf(() => stripKdrpcPrefix(new TextEncoder().encode('~kdVMvB v')))).toBe(KdrpcErrorCode.BadPrefix);
    const vReply = encodeKdrpcReply({ command: 'v', version: 1 });
    expect(codeOf(() => decodeKdrpcReply('v', vReply, { statusPrefix: 'required' }))).toBe(KdrpcErrorCode.BadStatusPrefix);
    expect(codeOf(() => decodeKdrpcReply('v', withKdrpcStatusPrefix(new Uint8Array(0)), { statusPrefix: 'required' }))).toBe(
      KdrpcErrorCode.Empty,
    );
    const badSig = vReply.slice();
    badSig[0] = 0x2a;
    expect(codeOf(() => decodeKdrpcReply('v', badSig))).toBe(KdrpcErrorCode.BadSignature);
    const sReply = encodeKdrpcReply({ command: 's', context: { retryCount: 0, breakInRequested: false }, globals: 4 });
    const badEcho = sReply.slice();
    badEcho[9] = 0x72;
    expect(codeOf(() => decodeKdrpcReply('s', badEcho))).toBe(KdrpcErrorCode.BadEcho);
    expect(codeOf(() => decodeKdrpcReply('s', sReply.subarray(0, 19)))).toBe(KdrpcErrorCode.BadLength);
    const rReply = encodeKdrpcReply({
      command: 'r',
      buffer1: { length: 0, maxLength: 0 },
      buffer2: { length: 0, maxLength: 0 },
      context: { retryCount: 0, breakInRequested: false },
      status: 1,
      payloadBytes: 0,
      globals: 4,
      data1: new Uint8Array(0),
      data2: new Uint8Array(0),
    });
    const lying = rReply.slice();
    new DataView(lying.buffer).setUint32(32, 5, true);
    expect(codeOf(() => decodeKdrpcReply('r', lying))).toBe(KdrpcErrorCode.BadLength);
    const pattern = kdrpcTestPattern('reply');
    pattern[300] ^= 1;
    expect(codeOf(() => checkKdrpcTestPattern('reply', pattern))).toBe(KdrpcErrorCode.BadTestPattern);
  });

  it('encoders refuse values that do not fit their fields', () => {
    expect(codeOf(() => encodeKdrpcRequest({ command: 'v', version: -1 }))).toBe(KdrpcErrorCode.FieldRange);
    expect(
      codeOf(() =>
        encodeKdrpcRequest({
          command: 'r',
          packetType: 2,
          globals: 0,
          buffer1: { length: 0, maxLength: 0x10000 },
          buffer2: { length: 0, maxLength: 0 },
          context: { retryCount: 0, breakInRequested: false },
        }),
      ),
    ).toBe(KdrpcErrorCode.FieldRange);
  });
});

describe('KDRPC round trips (property)', () => {
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const skb = fc.record({ length: u16, maxLength: u16 });
  const ctx = fc.record({ retryCount: u32, breakInRequested: fc.boolean() });
  const data = fc.uint8Array({ maxLength: 600 });

  test.prop([skb, skb, ctx, u32, u32, data, data])('s request', (buffer1, buffer2, context, packetType, globals, data1, data2) => {
    const request: KdrpcRequest = { command: 's', buffer1, buffer2, context, packetType, globals, data1, data2 };
    const body = encodeKdrpcRequest(request);
    expect(body.length).toBe(31 + data1.length + data2.length);
    expect(decodeKdrpcRequest(body)).toEqual(request);
  });

  test.prop([skb, skb, ctx, u32, u32, u32, data, data])('r reply', (buffer1, buffer2, context, status, payloadBytes, globals, data1, data2) => {
    const reply = { command: 'r' as const, buffer1, buffer2, context, status, payloadBytes, globals, data1, data2 };
    const bytes = encodeKdrpcReply(reply);
    expect(bytes.length).toBe(44 + data1.length + data2.length);
    expect(decodeKdrpcReply('r', withKdrpcStatusPrefix(bytes), { statusPrefix: 'required' })).toEqual(reply);
  });

  test.prop([fc.uint8Array({ maxLength: 64 })])('arbitrary bodies either decode or throw a VmkdError', (body) => {
    try {
      decodeKdrpcRequest(body);
    } catch (error) {
      expect(isVmkdError(error)).toBe(true);
    }
  });
});
