import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { decodeRsp, expandBody, initialRspDecoderState, type RspEvent } from './rsp-decoder.js';
import { lldbRawReply } from './binary-reply.js';
import { encodeBinaryPacket, encodeHexPacket, encodeRspPacket, hexPacketCapacity } from './rsp-encoder.js';

const ascii = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'latin1'));
const sum = (text: string): string => ([...ascii(text)].reduce((a, b) => a + b, 0) & 0xff).toString(16).padStart(2, '0');
const decodeAll = (bytes: Uint8Array, maxBody = 4096): RspEvent[] => decodeRsp(initialRspDecoderState(maxBody), bytes).events;

describe('RSP framing', () => {
  it('decodes a packet and checks its checksum (gdb manual: sum of the body mod 256)', () => {
    expect(decodeAll(ascii(`$qSupported:swbreak+#${sum('qSupported:swbreak+')}`))).toEqual([{ kind: 'packet', data: ascii('qSupported:swbreak+') }]);
    expect(Uint8Array.from(encodeRspPacket('OK'))).toEqual(ascii('$OK#9a'));
    expect(decodeAll(ascii('$g#67'))).toEqual([{ kind: 'packet', data: ascii('g') }]);
  });

  it('reports a bad checksum, acks, nacks, interrupts and skipped garbage', () => {
    expect(decodeAll(ascii('xx+$g#00-\u0003'))).toEqual([
      { kind: 'garbage', count: 2 },
      { kind: 'ack' },
      { kind: 'bad-checksum', expected: 0x67, got: 0 },
      { kind: 'nack' },
      { kind: 'interrupt' },
    ]);
  });

  it('reports a checksum that is not hex as malformed and resynchronises on the next $', () => {
    expect(decodeAll(ascii('$g#zz$g#67'))).toEqual([{ kind: 'malformed', reason: 'checksum digit is not hex' }, { kind: 'garbage', count: 1 }, { kind: 'packet', data: ascii('g') }]);
  });

  it('restarts on a $ inside a body (the sender abandoned the packet)', () => {
    expect(decodeAll(ascii('$m1234$g#67'))).toEqual([{ kind: 'packet', data: ascii('g') }]);
  });

  it('refuses a body over the bound without keeping it, then decodes the next packet', () => {
    const big = encodeRspPacket('X'.repeat(100));
    const { state, events } = decodeRsp(initialRspDecoderState(16), Uint8Array.from(Buffer.concat([big, encodeRspPacket('?')])));
    expect(events).toEqual([{ kind: 'oversized', length: 100 }, { kind: 'packet', data: ascii('?') }]);
    expect(state.body.length).toBe(0);
  });

  it('keeps at most maxBody bytes while a long body is still arriving', () => {
    const { state } = decodeRsp(initialRspDecoderState(16), ascii(`$${'a'.repeat(1000)}`));
    expect(state.body.length).toBeLessThanOrEqual(16);
    expect(state.length).toBe(1000);
  });

  it('undoes escapes and run-length encoding of client packets', () => {
    // '0* ' = '0' repeated 32 − 29 = 3 more times; '}]' = ']' ^ 0x20 = '}'.
    expect(expandBody(ascii('X0* }]'))).toEqual(ascii('X0000}'));
    expect(expandBody(ascii('*!'))).toBe('run-length marker with nothing to repeat');
    expect(expandBody(ascii('a}'))).toBe('escape character at the end of the packet');
    expect(decodeAll(ascii(`$a*"#${sum('a*"')}`))).toEqual([{ kind: 'packet', data: ascii('aaaaaa') }]);
    expect(decodeAll(ascii(`$a*\u0010#${sum('a*\u0010')}`))).toEqual([{ kind: 'malformed', reason: 'run-length count -13 out of range' }]);
  });

  test.prop([fc.uint8Array({ maxLength: 600 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 40 })])(
    'any binary body survives encode → decode, however the stream is split',
    (body, cuts) => {
      const frame = encodeRspPacket(body);
      let state = initialRspDecoderState(4096);
      const events: RspEvent[] = [];
      let at = 0;
      for (const cut of cuts) {
        const r = decodeRsp(state, frame.subarray(at, Math.min(frame.length, at + cut)));
        state = r.state;
        events.push(...r.events);
        at = Math.min(frame.length, at + cut);
      }
      events.push(...decodeRsp(state, frame.subarray(at)).events);
      expect(events).toEqual([{ kind: 'packet', data: body }]);
    },
  );

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 255 })])(
    'a corrupted byte inside a frame never yields a wrong packet',
    (body, position, flip) => {
      const frame = Uint8Array.from(encodeRspPacket(body));
      const i = 1 + (position % (frame.length - 1));
      frame[i] ^= flip;
      // A byte turned into '$' starts a new frame (RSP: a '$' always begins a packet), and what
      // follows it can be a valid frame of its own (seen: body c2 e7 4e f2 17 00 sums to 00, so
      // "$<00>#00" is left). That packet is really on the wire; only it may differ from `body`.
      const restarted = frame[i] === 0x24 ? decodeAll(frame.subarray(i)).filter((e) => e.kind === 'packet') : [];
      for (const event of decodeAll(frame)) {
        if (event.kind !== 'packet') continue;
        if (restarted.some((r) => r.kind === 'packet' && Buffer.from(r.data).equals(Buffer.from(event.data)))) continue;
        expect(event.data).toEqual(body);
      }
    },
  );
});

/** Bytes made of runs: what memory with zero pages and padding looks like, in small. */
const runs = fc
  .array(fc.tuple(fc.constantFrom(0x00, 0xcc, 0xff, 0x11, 0x90, 0x41), fc.integer({ min: 1, max: 240 })), { maxLength: 12 })
  .map((segments) => Uint8Array.from(segments.flatMap(([b, k]) => Array<number>(k).fill(b))));

describe('the hex memory reply', () => {
  const decodesTo = (frame: Uint8Array, data: Uint8Array): void => {
    const events = decodeRsp(initialRspDecoderState(1 << 20), frame).events;
    expect(events).toEqual([{ kind: 'packet', data: ascii(Buffer.from(data).toString('hex')) }]);
  };

  test.prop([fc.uint8Array({ maxLength: 300 }), fc.nat(3)])('decodes to the hex text at any length and buffer offset', (bytes, shift) => {
    const backing = new Uint8Array(bytes.length + shift);
    backing.set(bytes, shift);
    decodesTo(encodeHexPacket(backing.subarray(shift)), bytes);
  });

  test.prop([runs, fc.uint8Array({ maxLength: 40 })])('run-length encodes runs, and still decodes to the hex text', (body, tail) => {
    const data = Uint8Array.from([...tail, ...body, ...tail]);
    const frame = encodeHexPacket(data);
    decodesTo(frame, data);
    // Repeat counts never use the characters a frame or an escape is made of.
    const text = Buffer.from(frame).toString('latin1');
    for (const m of text.slice(1, -3).matchAll(/\*(.)/g)) expect('#$}*').not.toContain(m[1]);
  });

  it('sends a zero page in a few dozen characters instead of 8,192', () => {
    const frame = encodeHexPacket(new Uint8Array(4096));
    expect(frame.length).toBeLessThan(300);
    decodesTo(frame, new Uint8Array(4096));
  });

  it('leaves a run of two alone (no saving) and random bytes on the plain path', () => {
    expect(Buffer.from(encodeHexPacket(Uint8Array.of(0, 0, 1))).toString('latin1')).toBe(`$000001#${sum('000001')}`);
    expect(Buffer.from(encodeHexPacket(Uint8Array.of(0x12, 0, 0, 0, 0x34))).toString('latin1')).toBe(`$120*"34#${sum('120*"34')}`);
  });
});

describe('memory replies framed into a reused buffer', () => {
  const shared = new ArrayBuffer(hexPacketCapacity(300));
  test.prop([fc.uint8Array({ maxLength: 300 })])('an m reply written over an earlier, longer one is exactly the fresh frame', (bytes) => {
    expect(Buffer.from(encodeHexPacket(bytes, shared))).toEqual(Buffer.from(encodeHexPacket(bytes)));
    expect(encodeHexPacket(bytes, shared).buffer).toBe(shared);
  });

  test.prop([fc.uint8Array({ maxLength: 300 })])('an x reply written over an earlier one is exactly the fresh frame', (bytes) => {
    expect(Buffer.from(encodeBinaryPacket(0x62, bytes, shared))).toEqual(Buffer.from(encodeBinaryPacket(0x62, bytes)));
  });

  it('a buffer too small is not written: the frame gets its own', () => {
    const small = new ArrayBuffer(8);
    expect(encodeHexPacket(Uint8Array.of(1, 2, 3, 4, 5), small).buffer).not.toBe(small);
    expect(new Uint8Array(small)).toEqual(new Uint8Array(8));
  });
});

describe('the binary (x) memory reply', () => {
  test.prop([fc.uint8Array({ maxLength: 600 }), fc.boolean()])('decodes to the prefix and the bytes, whatever they contain', (bytes, prefixed) => {
    const frame = encodeBinaryPacket(prefixed ? 0x62 : undefined, bytes);
    const events = decodeAll(frame, 4096);
    expect(events).toEqual([{ kind: 'packet', data: prefixed ? Uint8Array.from([0x62, ...bytes]) : bytes }]);
  });

  test.prop([runs, fc.uint8Array({ maxLength: 40 }), fc.constantFrom(0x23, 0x24, 0x2a, 0x7d, 0x00)])(
    'run-length encoded (gdb), still decodes to the prefix and the bytes, with runs of escaped bytes among them',
    (body, tail, special) => {
      const data = Uint8Array.from([...tail, special, special, special, special, special, ...body, special, ...tail, ...body]);
      const frame = encodeBinaryPacket(0x62, data, undefined, { runLength: true });
      expect(decodeAll(frame, 1 << 20)).toEqual([{ kind: 'packet', data: Uint8Array.from([0x62, ...data]) }]);
      expect(frame.length).toBeLessThanOrEqual(encodeBinaryPacket(0x62, data).length);
      const text = Buffer.from(frame).toString('latin1');
      for (const m of text.slice(1, -3).matchAll(/[^}]\*(.)/g)) expect('#$}*').not.toContain(m[1]);
    },
  );

  it('sends a zero page in 131 bytes (3 per 98 zeros) when run-length encoded, 4,101 otherwise', () => {
    const zeros = new Uint8Array(4096);
    const frame = encodeBinaryPacket(0x62, zeros, undefined, { runLength: true });
    expect(frame.length).toBe(131);
    expect(decodeAll(frame, 1 << 20)).toEqual([{ kind: 'packet', data: Uint8Array.from([0x62, ...zeros]) }]);
    expect(encodeBinaryPacket(0x62, zeros).length).toBe(4096 + 5);
    // Runs of the bytes memory is padded with (0x00, 0xff, 0xcc, 0x90), 16 or longer, become
    // byte + marker; shorter runs and runs of other bytes go as they are.
    const framed = (data: Uint8Array): string => Buffer.from(encodeBinaryPacket(0x62, data, undefined, { runLength: true })).toString('latin1');
    const body = (text: string): string => `$${text}#${sum(text)}`;
    expect(framed(new Uint8Array(15).fill(0xcc))).toBe(body(`b${'\xcc'.repeat(15)}`));
    expect(framed(new Uint8Array(16).fill(0xcc))).toBe(body(`b\xcc*${String.fromCharCode(15 + 29)}`));
    expect(framed(new Uint8Array(20).fill(0x01))).toBe(body(`b${'\x01'.repeat(20)}`));
  });

  it('escapes $, #, } and * (gdb manual, "Overview": a reply must also escape *)', () => {
    expect(Buffer.from(encodeBinaryPacket(0x62, ascii('a$#}*'))).toString('latin1')).toBe(`$ba}\u0004}\u0003}]}\n#${sum('ba}\u0004}\u0003}]}\n')}`);
    expect(Buffer.from(encodeBinaryPacket(0x62, new Uint8Array(0))).toString('latin1')).toBe('$b#62');
  });
});

describe("lldb's raw x reply", () => {
  const reply = (text: string, requested = 64): string | undefined => {
    const r = lldbRawReply(ascii(text), requested);
    return r === undefined ? undefined : Buffer.from(r).toString('latin1');
  };

  it('cuts what lldb would take for OK or an E reply to its first byte (lldb reads the rest next)', () => {
    expect(reply('OK')).toBe('O');
    expect(reply('E12')).toBe('E');
    expect(reply('Eab;')).toBe('E');
    expect(reply('E0e;4f4b')).toBe('E');
  });

  it('leaves data lldb takes as data alone', () => {
    for (const text of ['OKa', 'O', 'E1', 'E12x', 'E12;zz', 'Exy', 'K', '+a', '-+', 'hello']) expect(reply(text), text).toBe(text);
  });

  it('pads a lone + or - answering a one-byte read, and cannot send one answering a longer read', () => {
    expect(reply('+', 1)).toBe('+\u0000');
    expect(reply('-', 1)).toBe('-\u0000');
    expect(reply('+', 2)).toBeUndefined();
  });
});
