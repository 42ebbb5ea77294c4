import { KdControlRequestApi, KdDebugIoApi, KdFileIoApi, KdLimits, KdTraceIoApi } from './constants.js';
import { defineFamily, type FamilyInit, type FamilyMessage } from './family.js';

const debugIoHeader = {
  apiNumber: { offset: 0x00, type: 'u32' },
  processorLevel: { offset: 0x04, type: 'u16' },
  processor: { offset: 0x06, type: 'u16' },
} as const;
const debugIoUnions = {
  none: {},
  printString: { lengthOfString: { offset: 0x08, type: 'u32' } },
  getString: { lengthOfPromptString: { offset: 0x08, type: 'u32' }, lengthOfStringRead: { offset: 0x0c, type: 'u32' } },
} as const;

/** `DBGKD_DEBUG_IO` (16 bytes, spec 2.7): DbgPrint and DbgPrompt text follows in `data`. */
export const debugIo = defineFamily('DBGKD_DEBUG_IO', KdLimits.DebugIoSize, debugIoHeader, debugIoUnions, {
  [KdDebugIoApi.PrintString]: 'printString',
  [KdDebugIoApi.GetString]: 'getString',
});
export type DebugIo = FamilyMessage<typeof debugIoHeader, typeof debugIoUnions>;
export type DebugIoInit = FamilyInit<typeof debugIoHeader, typeof debugIoUnions>;
export const decodeDebugIo = (payload: Uint8Array): DebugIo => debugIo.decode(payload);
export const encodeDebugIo = (message: DebugIoInit): Uint8Array => debugIo.encode(message);

const traceIoUnions = { none: {}, printTrace: { lengthOfData: { offset: 0x08, type: 'u32' } } } as const;

/** `DBGKD_TRACE_IO` (64 bytes): a trace buffer follows; there is no reply. */
export const traceIo = defineFamily('DBGKD_TRACE_IO', KdLimits.TraceIoSize, debugIoHeader, traceIoUnions, {
  [KdTraceIoApi.PrintTrace]: 'printTrace',
});
export type TraceIo = FamilyMessage<typeof debugIoHeader, typeof traceIoUnions>;
export type TraceIoInit = FamilyInit<typeof debugIoHeader, typeof traceIoUnions>;
export const decodeTraceIo = (payload: Uint8Array): TraceIo => traceIo.decode(payload);
export const encodeTraceIo = (message: TraceIoInit): Uint8Array => traceIo.encode(message);

const fileIoHeader = { apiNumber: { offset: 0x00, type: 'u32' }, status: { offset: 0x04, type: 'u32' } } as const;
const fileIoUnions = {
  none: {},
  createFile: {
    desiredAccess: { offset: 0x08, type: 'u32' },
    fileAttributes: { offset: 0x0c, type: 'u32' },
    shareAccess: { offset: 0x10, type: 'u32' },
    createDisposition: { offset: 0x14, type: 'u32' },
    createOptions: { offset: 0x18, type: 'u32' },
    handle: { offset: 0x20, type: 'u64' },
    length: { offset: 0x28, type: 'u64' },
  },
  readFile: { handle: { offset: 0x08, type: 'u64' }, offset: { offset: 0x10, type: 'u64' }, length: { offset: 0x18, type: 'u32' } },
  writeFile: { handle: { offset: 0x08, type: 'u64' }, offset: { offset: 0x10, type: 'u64' }, length: { offset: 0x18, type: 'u32' } },
  closeFile: { handle: { offset: 0x08, type: 'u64' } },
} as const;

/** `DBGKD_FILE_IO` (64 bytes): `.kdfiles` requests from the target and the debugger's replies. */
export const fileIo = defineFamily('DBGKD_FILE_IO', KdLimits.FileIoSize, fileIoHeader, fileIoUnions, {
  [KdFileIoApi.CreateFile]: 'createFile',
  [KdFileIoApi.ReadFile]: 'readFile',
  [KdFileIoApi.WriteFile]: 'writeFile',
  [KdFileIoApi.CloseFile]: 'closeFile',
});
export type FileIo = FamilyMessage<typeof fileIoHeader, typeof fileIoUnions>;
export type FileIoInit = FamilyInit<typeof fileIoHeader, typeof fileIoUnions>;
export const decodeFileIo = (payload: Uint8Array): FileIo => fileIo.decode(payload);
export const encodeFileIo = (message: FileIoInit): Uint8Array => fileIo.encode(message);

const controlRequestHeader = { apiNumber: { offset: 0x00, type: 'u32' } } as const;
const controlRequestUnions = {
  none: {},
  requestBreakpoint: { hardwareBreakPointNumber: { offset: 0x04, type: 'u32' }, available: { offset: 0x08, type: 'u32' } },
  releaseBreakpoint: { hardwareBreakPointNumber: { offset: 0x04, type: 'u32' }, released: { offset: 0x08, type: 'u32' } },
} as const;

/** `DBGKD_CONTROL_REQUEST` (12 bytes): hardware-breakpoint request and release. */
export const controlRequest = defineFamily('DBGKD_CONTROL_REQUEST', KdLimits.ControlRequestSize, controlRequestHeader, controlRequestUnions, {
  [KdControlRequestApi.RequestHardwareBp]: 'requestBreakpoint',
  [KdControlRequestApi.ReleaseHardwareBp]: 'releaseBreakpoint',
});
export type ControlRequest = FamilyMessage<typeof controlRequestHeader, typeof controlRequestUnions>;
export type ControlRequestInit = FamilyInit<typeof controlRequestHeader, typeof controlRequestUnions>;
export const decodeControlRequest = (payload: Uint8Array): ControlRequest => controlRequest.decode(payload);
export const encodeControlRequest = (message: ControlRequestInit): Uint8Array => controlRequest.encode(message);

const latin1 = new TextDecoder('latin1');

/** DbgPrint text of a DEBUG_IO PrintString (bounded by LengthOfString and the data actually present). */
export function debugIoText(message: DebugIo): string {
  const length = message.layout === 'printString' ? message.lengthOfString : message.layout === 'getString' ? message.lengthOfPromptString : message.data.length;
  return latin1.decode(message.data.subarray(0, Math.min(length, message.data.length)));
}

/** ANSI bytes of a string (characters above 0xFF become '?'); Windows' DbgPrint carries ANSI. */
export function ansiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c > 0xff ? 0x3f : c;
  }
  return out;
}

/** A DEBUG_IO PrintString payload carrying `text` (cut to the 3984 bytes one packet holds). */
export function encodePrintString(text: string, processor = 0, processorLevel = 0): Uint8Array {
  const bytes = ansiBytes(text).subarray(0, KdLimits.MaxPayload - KdLimits.DebugIoSize);
  return encodeDebugIo({
    layout: 'printString',
    apiNumber: KdDebugIoApi.PrintString,
    processor,
    processorLevel,
    lengthOfString: bytes.length,
    data: bytes,
  });
}
