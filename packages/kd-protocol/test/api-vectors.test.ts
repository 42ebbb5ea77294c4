import { describe, expect, it } from 'vitest';
import { KdApi, KdPacketType, decodeGetVersion64, decodeManipulate, decodeWaitStateChange, describeKdPacket, encodeManipulate, encodeWaitStateChange, type ManipulateOf } from '../src/index.js';

/** Bytes from the spec's hex dumps (whitespace separated). */
function hex(text: string): Uint8Array {
  return Uint8Array.from(text.trim().split(/\s+/).map((b) => parseInt(b, 16)));
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) >>> 0;
  return sum;
}

/** Payload of a complete KDCOM data frame from Appendix A (16-byte header, payload, 0xAA). */
function payloadOf(frame: Uint8Array): Uint8Array {
  const count = frame[6] | (frame[7] << 8);
  expect(frame[16 + count]).toBe(0xaa);
  const payload = frame.subarray(16, 16 + count);
  expect(checksum(payload)).toBe(new DataView(frame.buffer, frame.byteOffset).getUint32(12, true));
  return payload;
}

function padTo56(prefix: string): Uint8Array {
  const out = new Uint8Array(56);
  out.set(hex(prefix));
  return out;
}

describe('Appendix A.2 requests (radare2)', () => {
  it('GetVersion: both directions', () => {
    const payload = payloadOf(
      hex(`30 30 30 30 02 00 38 00 00 00 80 80 77 00 00 00
           46 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           00 00 00 00 00 00 00 00 aa`),
    );
    const m = decodeManipulate(payload);
    expect(m.layout).toBe('getVersion');
    expect(m.apiNumber).toBe(KdApi.GetVersion);
    expect(encodeManipulate({ layout: 'getVersion', apiNumber: KdApi.GetVersion })).toEqual(payload);
    expect(encodeManipulate(m)).toEqual(payload);
  });

  it('ReadVirtualMemory of 8 bytes at 0xfffff80000100000', () => {
    const payload = payloadOf(
      hex(`30 30 30 30 02 00 38 00 01 00 80 80 6f 03 00 00
           30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           00 00 10 00 00 f8 ff ff 08 00 00 00 00 00 00 00
           00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           00 00 00 00 00 00 00 00 aa`),
    );
    const m = decodeManipulate(payload) as ManipulateOf<'readMemory'>;
    expect(m).toMatchObject({ layout: 'readMemory', apiNumber: 0x3130, targetBaseAddress: 0xfffff80000100000n, transferCount: 8, actualBytesRead: 0 });
    expect(
      encodeManipulate({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory, targetBaseAddress: 0xfffff80000100000n, transferCount: 8 }),
    ).toEqual(payload);
  });

  it('WriteBreakPoint, ContinueApi2 and RestoreBreakPoint', () => {
    const wbp = padTo56('34 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 40 00 00 f8 ff ff');
    expect(checksum(wbp)).toBe(0x39c);
    expect(decodeManipulate(wbp)).toMatchObject({ layout: 'writeBreakPoint', breakPointAddress: 0xfffff80000400001n, breakPointHandle: 0 });
    expect(encodeManipulate({ layout: 'writeBreakPoint', apiNumber: KdApi.WriteBreakPoint, breakPointAddress: 0xfffff80000400001n })).toEqual(wbp);

    const cont = padTo56('3c 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 01 00 00 00 00 00');
    expect(checksum(cont)).toBe(0x6f);
    expect(decodeManipulate(cont)).toMatchObject({ layout: 'continue2', continueStatus: 0x00010001, traceFlag: 0, dr7: 0n });
    expect(encodeManipulate({ layout: 'continue2', apiNumber: KdApi.ContinueApi2, continueStatus: 0x00010001 })).toEqual(cont);

    const rbp = padTo56('35 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00');
    expect(checksum(rbp)).toBe(0x67);
    expect(decodeManipulate(rbp)).toMatchObject({ layout: 'restoreBreakPoint', breakPointHandle: 1 });
    expect(encodeManipulate({ layout: 'restoreBreakPoint', apiNumber: KdApi.RestoreBreakPoint, breakPointHandle: 1 })).toEqual(rbp);
  });
});

describe('Appendix A.3 replies', () => {
  it('GetVersion reply: build 7601, AMD64, DebuggerDataList', () => {
    const payload = payloadOf(
      hex(`30 30 30 30 02 00 38 00 01 00 80 80 df 0b 00 00
           46 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           0f 00 b1 1d 06 02 07 00 64 86 0c 03 31 00 00 00
           00 00 00 00 00 f8 ff ff 00 00 60 00 00 f8 ff ff
           00 00 10 00 00 f8 ff ff aa`),
    );
    const fields = {
      majorVersion: 0x0f,
      minorVersion: 7601,
      protocolVersion: 6,
      kdSecondaryVersion: 2,
      flags: 7,
      machineType: 0x8664,
      maxPacketType: 12,
      maxStateChange: 3,
      maxManipulate: 0x31,
      simulation: 0,
      kernBase: 0xfffff80000000000n,
      psLoadedModuleList: 0xfffff80000600000n,
      debuggerDataList: 0xfffff80000100000n,
    };
    expect(decodeManipulate(payload)).toMatchObject({ layout: 'getVersion', ...fields });
    expect(decodeGetVersion64(payload.subarray(16))).toMatchObject(fields);
    expect(encodeManipulate({ layout: 'getVersion', apiNumber: KdApi.GetVersion, ...fields })).toEqual(payload);
  });

  it('ReadVirtualMemory reply with 8 data bytes', () => {
    const payload = payloadOf(
      hex(`30 30 30 30 02 00 40 00 00 00 80 80 8d 06 00 00
           30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           00 00 10 00 00 f8 ff ff 08 00 00 00 08 00 00 00
           00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
           00 00 00 00 00 00 00 00 00 00 20 00 00 f8 ff ff
           aa`),
    );
    const m = decodeManipulate(payload) as ManipulateOf<'readMemory'>;
    expect(m.actualBytesRead).toBe(8);
    expect(new DataView(m.data.buffer, m.data.byteOffset).getBigUint64(0, true)).toBe(0xfffff80000200000n);
    expect(
      encodeManipulate({
        layout: 'readMemory',
        apiNumber: KdApi.ReadVirtualMemory,
        targetBaseAddress: 0xfffff80000100000n,
        transferCount: 8,
        actualBytesRead: 8,
        data: m.data,
      }),
    ).toEqual(payload);
    expect(describeKdPacket({ type: KdPacketType.StateManipulate, payload })).toMatchObject({
      typeName: 'KD_STATE_MANIPULATE',
      api: 'ReadVirtualMemory',
      dataLength: 8,
      fields: { targetBaseAddress: '0xfffff80000100000', transferCount: 8, actualBytesRead: 8 },
    });
  });

  it('the STATE_CHANGE64 exception report of A.3 has the recorded header and checksum', () => {
    // The vector records the frame header and these fields only. Filling the rest the way a
    // Windows int3 report does (ExceptionAddress = PC, NumberParameters 1 with
    // ExceptionInformation[0] = BREAKPOINT_BREAK 0, InstructionCount 16, ReportFlags 3 =
    // segments | standard CS, the 16 bytes at PC `cc c3 90 …`) reproduces the recorded checksum.
    const stream = Uint8Array.from([0xcc, 0xc3, ...new Array<number>(14).fill(0x90)]);
    const payload = encodeWaitStateChange({
      kind: 'exception',
      arch: 'amd64',
      processorLevel: 6,
      processor: 0,
      numberProcessors: 1,
      thread: 0xfffff80000500000n,
      programCounter: 0xfffff80000400000n,
      exceptionCode: 0x80000003,
      exceptionAddress: 0xfffff80000400000n,
      numberParameters: 1,
      firstChance: 1,
      dr7: 0x400n,
      eFlags: 0x202,
      instructionCount: 16,
      reportFlags: 3,
      instructionStream: stream,
      segCs: 0x10,
      segDs: 0x2b,
      segEs: 0x2b,
      segFs: 0x53,
    });
    expect(payload.length).toBe(0xf0);
    expect(checksum(payload)).toBe(0x14e1);
    expect([...payload.subarray(0, 16)]).toEqual([...hex('30 30 00 00 06 00 00 00 01 00 00 00 00 00 00 00')]);
    const s = decodeWaitStateChange(payload);
    expect(s).toMatchObject({ kind: 'exception', exceptionCode: 0x80000003, firstChance: 1, thread: 0xfffff80000500000n });
    expect(encodeWaitStateChange(s)).toEqual(payload);
  });
});
