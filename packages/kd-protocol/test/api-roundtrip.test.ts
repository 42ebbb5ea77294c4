import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CpuContext, KdApi, KdApiErrorCode, KdControlRequestApi, KdDebugIoApi, KdFileIoApi, KdPacketType, KdStateChange, KdTraceIoApi, MANIPULATE_LAYOUTS, controlRequest, debugIo, decodeAmd64Context, decodeAmd64SpecialRegisters, decodeGetVersion64, decodeManipulate, decodeWaitStateChange, describeKdPacket, encodeAmd64SpecialRegisters, encodeContext, encodeGetVersion64, encodeManipulate, encodePrintString, encodeWaitStateChange, fileIo, manipulateLayoutOf, traceIo } from '../src/index.js';
import { type FieldSpec } from '../src/internal.js';
import { isVmkdError } from '../src/errors.js';

const apiNumbers = Object.values(KdApi) as number[];
/** Every named API, plus unassigned and random numbers (which must round-trip as raw bytes). */
const anyApi = fc.oneof(fc.constantFrom(...apiNumbers), fc.constantFrom(0x314a, 0x3161, 0x3162, 0x3199), fc.nat({ max: 0xffffffff }));

function withU32(bytes: Uint8Array, value: number): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, value, true);
  return bytes;
}

const message = (size: number, apis: fc.Arbitrary<number>, maxData = 256) =>
  fc.tuple(fc.uint8Array({ minLength: size, maxLength: size }), fc.uint8Array({ maxLength: maxData }), apis).map(([head, data, api]) => {
    const out = new Uint8Array(size + data.length);
    out.set(withU32(head, api));
    out.set(data, size);
    return out;
  });

/** An arbitrary value for one field spec. */
function fieldArb(spec: FieldSpec): fc.Arbitrary<unknown> {
  switch (spec.type) {
    case 'u8':
      return fc.integer({ min: 0, max: 0xff });
    case 'u16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'u32':
      return fc.nat({ max: 0xffffffff });
    case 'u64':
      return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    case 'bytes':
      return fc.uint8Array({ minLength: spec.count, maxLength: spec.count });
    case 'u64[]':
      return fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: spec.count, maxLength: spec.count });
  }
}

describe('DBGKD_MANIPULATE_STATE64', () => {
  test.prop([message(56, anyApi)], { numRuns: 2000 })('encode(decode(b)) === b for every API, garbage included', (bytes) => {
    const m = decodeManipulate(bytes);
    expect(m.layout).toBe(manipulateLayoutOf(m.apiNumber));
    expect(encodeManipulate(m)).toEqual(bytes);
  });

  test.prop([message(56, fc.constant(KdApi.ContinueApi2))])('the x86 Continue2 control set round-trips too', (bytes) => {
    const m = decodeManipulate(bytes, { arch: 'x86' });
    expect(m.layout).toBe('continue2X86');
    expect(encodeManipulate(m)).toEqual(bytes);
  });

  const structured = fc.constantFrom(...apiNumbers).chain((apiNumber) => {
    const layout = manipulateLayoutOf(apiNumber);
    const unusedLength = decodeManipulate(encodeManipulate({ layout, apiNumber })).unused.length;
    const fields: Record<string, fc.Arbitrary<unknown>> = {
      processorLevel: fc.integer({ min: 0, max: 0xffff }),
      processor: fc.integer({ min: 0, max: 0xffff }),
      returnStatus: fc.nat({ max: 0xffffffff }),
      unused: fc.uint8Array({ minLength: unusedLength, maxLength: unusedLength }),
      data: fc.uint8Array({ maxLength: 64 }),
    };
    for (const [name, spec] of Object.entries(MANIPULATE_LAYOUTS[layout] as Record<string, FieldSpec>)) fields[name] = fieldArb(spec);
    return fc.record(fields).map((f) => ({ ...f, layout, apiNumber }));
  });

  test.prop([structured], { numRuns: 1000 })('decode(encode(x)) equals x for random field values', (x) => {
    expect(decodeManipulate(encodeManipulate(x))).toEqual(x);
  });
});

describe('DBGKD_ANY_WAIT_STATE_CHANGE', () => {
  const states = fc.oneof(
    fc.constantFrom(KdStateChange.Exception, KdStateChange.LoadSymbols, KdStateChange.CommandString),
    fc.constantFrom(KdStateChange.Exception | 0x10000, 0x3033),
    fc.nat({ max: 0xffffffff }),
  );
  test.prop([message(240, states), fc.constantFrom('amd64' as const, 'x86' as const)], { numRuns: 1000 })(
    'encode(decode(b)) === b (exception, load symbols, command string, unknown; AMD64 and x86 reports)',
    (bytes, arch) => {
      const s = decodeWaitStateChange(bytes, { arch });
      expect(encodeWaitStateChange(s)).toEqual(bytes);
      expect(decodeWaitStateChange(encodeWaitStateChange(s), { arch })).toEqual(s);
    },
  );

  it('decodes a load-symbols change with its path', () => {
    const path = new TextEncoder().encode('\\SystemRoot\\system32\\ntoskrnl.exe\0');
    const bytes = encodeWaitStateChange({ kind: 'loadSymbols', arch: 'amd64', pathNameLength: path.length, baseOfDll: 0xfffff80000000000n, processId: 4n, sizeOfImage: 0x800000, data: path });
    expect(describeKdPacket({ type: KdPacketType.StateChange64, payload: bytes })).toMatchObject({
      state: 'LoadSymbols',
      imageName: '\\SystemRoot\\system32\\ntoskrnl.exe',
      fields: { newState: '0x3031', baseOfDll: '0xfffff80000000000', sizeOfImage: 0x800000 },
    });
  });
});

describe('DEBUG_IO, TRACE_IO, FILE_IO, CONTROL_REQUEST', () => {
  const families = [
    ['DEBUG_IO', debugIo, 16, [KdDebugIoApi.PrintString, KdDebugIoApi.GetString]],
    ['TRACE_IO', traceIo, 64, [KdTraceIoApi.PrintTrace]],
    ['FILE_IO', fileIo, 64, Object.values(KdFileIoApi)],
    ['CONTROL_REQUEST', controlRequest, 12, Object.values(KdControlRequestApi)],
  ] as const;
  for (const [name, family, size, apis] of families) {
    test.prop([message(size, fc.oneof(fc.constantFrom(...(apis as readonly number[])), fc.nat({ max: 0xffffffff })))], { numRuns: 500 })(
      `${name}: encode(decode(b)) === b and decode(encode(x)) equals x`,
      (bytes) => {
        const m = family.decode(bytes);
        const again = family.encode(m as never);
        expect(again).toEqual(bytes);
        expect(family.decode(again)).toEqual(m);
      },
    );
  }

  it('PrintString carries the text and its length', () => {
    const payload = encodePrintString('BD: Boot Debugger Initialized\n');
    expect(payload.length).toBe(46); // the observed ByteCount of spec 2.7
    expect(describeKdPacket({ type: KdPacketType.DebugIo, payload })).toMatchObject({ api: 'PrintString', text: 'BD: Boot Debugger Initialized\n' });
  });

  it('FILE_IO CreateFile shows the UTF-16 path', () => {
    const name = new Uint8Array(Buffer.from('\\boot\\en-US\\winload.efi.mui\0', 'utf16le'));
    const payload = fileIo.encode({ layout: 'createFile', apiNumber: KdFileIoApi.CreateFile, desiredAccess: 0x120089, fileAttributes: 0x80, shareAccess: 1, createDisposition: 1, data: name });
    expect(describeKdPacket({ type: KdPacketType.FileIo, payload })).toMatchObject({ api: 'CreateFile', fileName: '\\boot\\en-US\\winload.efi.mui' });
  });
});

describe('GetVersion64, CONTEXT and KSPECIAL_REGISTERS', () => {
  test.prop([fc.uint8Array({ minLength: 40, maxLength: 40 })])('GetVersion64 round-trips', (bytes) => {
    expect(encodeGetVersion64(decodeGetVersion64(bytes))).toEqual(bytes);
  });
  test.prop([fc.uint8Array({ minLength: 0xe0, maxLength: 0xe0 })])('KSPECIAL_REGISTERS round-trips', (bytes) => {
    const s = decodeAmd64SpecialRegisters(bytes);
    expect(encodeAmd64SpecialRegisters(s)).toEqual(bytes);
  });
  test.prop([fc.uint8Array({ minLength: 1232, maxLength: 1232 })], { numRuns: 50 })('AMD64 CONTEXT round-trips', (bytes) => {
    expect(encodeContext(decodeAmd64Context(bytes))).toEqual(bytes);
  });

  it('gets and sets named registers at the spec offsets', () => {
    const ctx = new CpuContext('amd64');
    ctx.set('Rip', 0xfffff80000400000n).set('contextflags', 0x10001f).set('eflags', 0x202).set('cs', 0x10).set('r15', 1n);
    const view = new DataView(ctx.bytes.buffer);
    expect(view.getBigUint64(0xf8, true)).toBe(0xfffff80000400000n);
    expect(view.getUint32(0x30, true)).toBe(0x10001f);
    expect(view.getUint32(0x44, true)).toBe(0x202);
    expect(view.getUint16(0x38, true)).toBe(0x10);
    expect(view.getBigUint64(0xf0, true)).toBe(1n);
    expect(ctx.get('RIP')).toBe(0xfffff80000400000n);
    expect(ctx.xmm(15).length).toBe(16);
    const x86 = new CpuContext('x86').set('eip', 0x80401000);
    expect(new DataView(x86.bytes.buffer).getUint32(0xb8, true)).toBe(0x80401000);
  });
});

describe('malformed input', () => {
  function codeOf(fn: () => unknown): { code?: string; field?: unknown } {
    try {
      fn();
    } catch (error) {
      if (isVmkdError(error)) return { code: error.code, field: error.details.field };
      throw error;
    }
    throw new Error('did not throw');
  }

  it('names the first missing field of a truncated structure', () => {
    expect(codeOf(() => decodeManipulate(new Uint8Array(3)))).toEqual({ code: KdApiErrorCode.Truncated, field: 'apiNumber' });
    const readReq = encodeManipulate({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory }).subarray(0, 0x1a);
    expect(codeOf(() => decodeManipulate(readReq))).toEqual({ code: KdApiErrorCode.Truncated, field: 'transferCount' });
    expect(codeOf(() => decodeWaitStateChange(new Uint8Array(0x20)))).toMatchObject({ code: KdApiErrorCode.Truncated });
    expect(codeOf(() => debugIo.decode(new Uint8Array(6)))).toEqual({ code: KdApiErrorCode.Truncated, field: 'processor' });
    expect(codeOf(() => decodeAmd64SpecialRegisters(new Uint8Array(0x60)))).toMatchObject({ code: KdApiErrorCode.Truncated });
    expect(codeOf(() => decodeAmd64Context(new Uint8Array(716)))).toMatchObject({ code: KdApiErrorCode.BadSize });
  });

  it('refuses values that do not fit and oversized data', () => {
    expect(codeOf(() => encodeManipulate({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory, transferCount: 2 ** 32 }))).toEqual({
      code: KdApiErrorCode.FieldRange,
      field: 'transferCount',
    });
    expect(codeOf(() => encodeManipulate({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory, targetBaseAddress: -1n }))).toMatchObject({
      field: 'targetBaseAddress',
    });
    expect(codeOf(() => encodeManipulate({ layout: 'none', apiNumber: 1, data: new Uint8Array(4096) }))).toMatchObject({ code: KdApiErrorCode.TooLarge });
    expect(codeOf(() => new CpuContext('amd64').get('eax'))).toMatchObject({ code: KdApiErrorCode.UnknownRegister });
    expect(codeOf(() => new CpuContext('amd64').set('cs', 0x10000))).toMatchObject({ code: KdApiErrorCode.FieldRange, field: 'cs' });
  });

  test.prop([fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 300 })], { numRuns: 2000 })(
    'describeKdPacket never throws, whatever the payload',
    (type, payload) => {
      const d = describeKdPacket({ type, payload });
      expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    },
  );
});
