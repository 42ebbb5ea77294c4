import { VmkdError } from '../errors.js';
import { KdApi, KdLimits } from './constants.js';
import { KdApiErrorCode } from './errors.js';
import { defineStruct, fieldAt, requireLength, shiftLayout, viewOf, type FieldsOf, type Layout, type StructCodec } from './struct.js';
import { GET_VERSION64_LAYOUT } from './version.js';

/** The 16-byte header of `DBGKD_MANIPULATE_STATE64` (spec 2.1); the padding word at 0x0C is kept in `unused`. */
export const MANIPULATE_HEADER = {
  apiNumber: { offset: 0x00, type: 'u32' },
  processorLevel: { offset: 0x04, type: 'u16' },
  processor: { offset: 0x06, type: 'u16' },
  returnStatus: { offset: 0x08, type: 'u32' },
} as const;
const HEADER = MANIPULATE_HEADER;
/** Where the union of `DBGKD_MANIPULATE_STATE64` starts: right after the 16-byte header (spec 2.1). */
export const MANIPULATE_UNION_OFFSET = 0x10;

const readMemory = {
  targetBaseAddress: { offset: 0x10, type: 'u64' },
  transferCount: { offset: 0x18, type: 'u32' },
  /** Reply: bytes read. ReadPhysicalMemory request: the caching flag (0 default, 1 cached, 2 uncached, 3 write-combined). */
  actualBytesRead: { offset: 0x1c, type: 'u32' },
} as const;

const writeMemory = {
  targetBaseAddress: { offset: 0x10, type: 'u64' },
  transferCount: { offset: 0x18, type: 'u32' },
  actualBytesWritten: { offset: 0x1c, type: 'u32' },
} as const;

/** Union layouts of spec 2.3, offsets from the start of the 56-byte structure. */
export const MANIPULATE_LAYOUTS = {
  /** No union member: every union byte stays raw in `unused` (unassigned or unknown API numbers, Reboot, …). */
  none: {},
  readMemory,
  writeMemory,
  getContext: { reserved: { offset: 0x10, type: 'u32' } },
  setContext: { contextFlags: { offset: 0x10, type: 'u32' } },
  writeBreakPoint: { breakPointAddress: { offset: 0x10, type: 'u64' }, breakPointHandle: { offset: 0x18, type: 'u32' } },
  restoreBreakPoint: { breakPointHandle: { offset: 0x10, type: 'u32' } },
  continue: { continueStatus: { offset: 0x10, type: 'u32' } },
  /** ContinueApi2 with the AMD64 control set (4-byte packing). */
  continue2: {
    continueStatus: { offset: 0x10, type: 'u32' },
    traceFlag: { offset: 0x14, type: 'u32' },
    dr7: { offset: 0x18, type: 'u64' },
    currentSymbolStart: { offset: 0x20, type: 'u64' },
    currentSymbolEnd: { offset: 0x28, type: 'u64' },
  },
  /** ContinueApi2 with the x86 control set. */
  continue2X86: {
    continueStatus: { offset: 0x10, type: 'u32' },
    traceFlag: { offset: 0x14, type: 'u32' },
    dr7: { offset: 0x18, type: 'u32' },
    currentSymbolStart: { offset: 0x1c, type: 'u32' },
    currentSymbolEnd: { offset: 0x20, type: 'u32' },
  },
  readWriteIo: {
    ioAddress: { offset: 0x10, type: 'u64' },
    dataSize: { offset: 0x18, type: 'u32' },
    dataValue: { offset: 0x1c, type: 'u32' },
  },
  readWriteIoExtended: {
    dataSize: { offset: 0x10, type: 'u32' },
    interfaceType: { offset: 0x14, type: 'u32' },
    busNumber: { offset: 0x18, type: 'u32' },
    addressSpace: { offset: 0x1c, type: 'u32' },
    ioAddress: { offset: 0x20, type: 'u64' },
    dataValue: { offset: 0x28, type: 'u32' },
  },
  readWriteMsr: {
    msr: { offset: 0x10, type: 'u32' },
    dataValueLow: { offset: 0x14, type: 'u32' },
    dataValueHigh: { offset: 0x18, type: 'u32' },
  },
  getVersion: shiftLayout(GET_VERSION64_LAYOUT, MANIPULATE_UNION_OFFSET),
  searchMemory: {
    /** Request: where to start; reply: FoundAddress. */
    searchAddress: { offset: 0x10, type: 'u64' },
    searchLength: { offset: 0x18, type: 'u64' },
    patternLength: { offset: 0x20, type: 'u32' },
  },
  getSetBusData: {
    busDataType: { offset: 0x10, type: 'u32' },
    busNumber: { offset: 0x14, type: 'u32' },
    slotNumber: { offset: 0x18, type: 'u32' },
    offset: { offset: 0x1c, type: 'u32' },
    length: { offset: 0x20, type: 'u32' },
  },
  fillMemory: {
    address: { offset: 0x10, type: 'u64' },
    length: { offset: 0x18, type: 'u32' },
    flags: { offset: 0x1c, type: 'u16' },
    patternLength: { offset: 0x1e, type: 'u16' },
  },
  queryMemory: {
    address: { offset: 0x10, type: 'u64' },
    reserved: { offset: 0x18, type: 'u64' },
    addressSpace: { offset: 0x20, type: 'u32' },
    flags: { offset: 0x24, type: 'u32' },
  },
  switchPartition: { partition: { offset: 0x10, type: 'u32' } },
  breakPointEx: { breakPointCount: { offset: 0x10, type: 'u32' }, continueStatus: { offset: 0x14, type: 'u32' } },
  contextEx: {
    offset: { offset: 0x10, type: 'u32' },
    byteCount: { offset: 0x14, type: 'u32' },
    bytesCopied: { offset: 0x18, type: 'u32' },
  },
  writeCustomBreakpoint: {
    breakPointAddress: { offset: 0x10, type: 'u64' },
    breakPointInstruction: { offset: 0x18, type: 'u64' },
    breakPointHandle: { offset: 0x20, type: 'u32' },
    instructionSize: { offset: 0x24, type: 'u8' },
    instructionAlignment: { offset: 0x25, type: 'u8' },
  },
} as const satisfies Record<string, Layout>;

type Layouts = typeof MANIPULATE_LAYOUTS;
export type ManipulateLayoutName = keyof Layouts;
export type ManipulateHeader = FieldsOf<typeof HEADER>;

/**
 * A decoded `DBGKD_MANIPULATE_STATE64` plus its extra data. `unused` holds the padding word and
 * every union byte the layout does not name, verbatim; `data` is a view into the decoded payload.
 */
export type ManipulateState = {
  [K in ManipulateLayoutName]: { layout: K } & ManipulateHeader & FieldsOf<Layouts[K]> & { unused: Uint8Array; data: Uint8Array };
}[ManipulateLayoutName];

/** The manipulate message of one layout, e.g. `ManipulateOf<'readMemory'>`. */
export type ManipulateOf<K extends ManipulateLayoutName> = Extract<ManipulateState, { layout: K }>;

/** What encodeManipulate() takes: any field left out is zero, `unused` defaults to zeros, `data` to empty. */
export type ManipulateInit = {
  [K in ManipulateLayoutName]: { layout: K; apiNumber: number } & Partial<
    ManipulateHeader & FieldsOf<Layouts[K]> & { unused: Uint8Array; data: Uint8Array }
  >;
}[ManipulateLayoutName];

export type KdArch = 'amd64' | 'x86';

export interface ManipulateDecodeOptions {
  /** Selects the ContinueApi2 control set (default amd64). */
  readonly arch?: KdArch;
}

const codecs = new Map<ManipulateLayoutName, StructCodec<Layout>>();
for (const [name, layout] of Object.entries(MANIPULATE_LAYOUTS)) {
  codecs.set(name as ManipulateLayoutName, defineStruct('DBGKD_MANIPULATE_STATE64', KdLimits.ManipulateSize, { ...HEADER, ...layout }));
}

const A = KdApi;
const layoutByApi = new Map<number, ManipulateLayoutName>([
  [A.ReadVirtualMemory, 'readMemory'],
  [A.ReadControlSpace, 'readMemory'],
  [A.ReadPhysicalMemory, 'readMemory'],
  [A.WriteVirtualMemory, 'writeMemory'],
  [A.WriteControlSpace, 'writeMemory'],
  [A.WritePhysicalMemory, 'writeMemory'],
  [A.GetContext, 'getContext'],
  [A.SetContext, 'setContext'],
  [A.WriteBreakPoint, 'writeBreakPoint'],
  [A.RestoreBreakPoint, 'restoreBreakPoint'],
  [A.Continue, 'continue'],
  [A.ContinueApi2, 'continue2'],
  [A.ReadIoSpace, 'readWriteIo'],
  [A.WriteIoSpace, 'readWriteIo'],
  [A.ReadIoSpaceExtended, 'readWriteIoExtended'],
  [A.WriteIoSpaceExtended, 'readWriteIoExtended'],
  [A.GetVersion, 'getVersion'],
  [A.WriteBreakPointEx, 'breakPointEx'],
  [A.RestoreBreakPointEx, 'breakPointEx'],
  [A.ReadMachineSpecificRegister, 'readWriteMsr'],
  [A.WriteMachineSpecificRegister, 'readWriteMsr'],
  [A.SearchMemory, 'searchMemory'],
  [A.GetBusData, 'getSetBusData'],
  [A.SetBusData, 'getSetBusData'],
  [A.FillMemory, 'fillMemory'],
  [A.QueryMemory, 'queryMemory'],
  [A.SwitchPartition, 'switchPartition'],
  [A.WriteCustomBreakpoint, 'writeCustomBreakpoint'],
  [A.GetContextEx, 'contextEx'],
  [A.SetContextEx, 'contextEx'],
]);

/**
 * Whether an API moves memory (read/write virtual, control space, physical): its union starts with
 * the address and carries ActualBytesRead/Written at 0x1C. Derived from the layout table.
 */
export function isMemoryTransferApi(apiNumber: number): boolean {
  const layout = layoutByApi.get(apiNumber);
  return layout === 'readMemory' || layout === 'writeMemory';
}

/** The union layout an API number uses; `none` for APIs without one and for unknown numbers. */
export function manipulateLayoutOf(apiNumber: number, arch: KdArch = 'amd64'): ManipulateLayoutName {
  const layout = layoutByApi.get(apiNumber) ?? 'none';
  return layout === 'continue2' && arch === 'x86' ? 'continue2X86' : layout;
}

/** Decodes a KD_STATE_MANIPULATE payload. `data` aliases `payload` (no copy). */
export function decodeManipulate(payload: Uint8Array, options: ManipulateDecodeOptions = {}): ManipulateState {
  const size = KdLimits.ManipulateSize;
  if (payload.length < size) {
    const name = manipulateLayoutOf(payload.length >= 4 ? viewOf(payload).getUint32(0, true) : 0, options.arch);
    requireLength('DBGKD_MANIPULATE_STATE64', () => fieldAt({ ...HEADER, ...MANIPULATE_LAYOUTS[name] }, payload.length), payload, size);
  }
  const view = viewOf(payload);
  const layout = manipulateLayoutOf(view.getUint32(0, true), options.arch);
  const codec = codecs.get(layout)!;
  const message = codec.read(view, payload, 0) as Record<string, unknown>;
  message.layout = layout;
  message.data = payload.subarray(size);
  return message as ManipulateState;
}

/** Encodes a manipulate message (header, union, extra data) into a fresh payload. */
export function encodeManipulate(message: ManipulateInit): Uint8Array {
  const size = KdLimits.ManipulateSize;
  const data = message.data ?? EMPTY;
  if (size + data.length > KdLimits.MaxAcceptPayload) {
    throw new VmkdError(KdApiErrorCode.TooLarge, `DBGKD_MANIPULATE_STATE64: ${data.length} data bytes exceed the packet limit`, {
      details: { structure: 'DBGKD_MANIPULATE_STATE64', field: 'data', size: size + data.length, max: KdLimits.MaxAcceptPayload },
    });
  }
  const codec = codecs.get(message.layout);
  if (codec === undefined) {
    throw new VmkdError(KdApiErrorCode.FieldRange, `DBGKD_MANIPULATE_STATE64: unknown layout ${String(message.layout)}`, {
      details: { structure: 'DBGKD_MANIPULATE_STATE64', field: 'layout' },
    });
  }
  const out = new Uint8Array(size + data.length);
  codec.write(viewOf(out), out, 0, message as never);
  out.set(data, size);
  return out;
}

/** Builds a manipulate message for `apiNumber` with the layout the API uses. */
export function createManipulate<K extends ManipulateLayoutName>(
  apiNumber: number,
  fields: Partial<ManipulateOf<K>> = {},
  arch: KdArch = 'amd64',
): ManipulateInit {
  return { ...fields, apiNumber, layout: manipulateLayoutOf(apiNumber, arch) };
}

const EMPTY = new Uint8Array(0);

/** DBGKD_FILL_MEMORY.Flags (spec 2.3). */
export const FillMemoryFlag = { Virtual: 1, Physical: 2 } as const;
/** DBGKD_QUERY_MEMORY.AddressSpace in the reply (spec 2.3). */
export const QueryMemorySpace = { Process: 0, Session: 1, Kernel: 2 } as const;
/** DBGKD_QUERY_MEMORY.Flags in the reply (spec 2.3). */
export const QueryMemoryFlag = { Read: 1, Write: 2, Execute: 4, Fixed: 8 } as const;
/** HAL BUS_DATA_TYPE values GetBusData/SetBusData take; PCI configuration space is the one in use. */
export const BusDataType = { Cmos: 0, EisaConfiguration: 1, Pos: 2, CbusConfiguration: 3, PCIConfiguration: 4 } as const;

/** One DBGKD_WRITE_BREAKPOINT64 of a WriteBreakPointEx / RestoreBreakPointEx request (16 bytes). */
export interface BreakpointEntry {
  readonly address: bigint;
  readonly handle: number;
}

/** Size of DBGKD_WRITE_BREAKPOINT64: BreakPointAddress u64, BreakPointHandle u32, padding. */
export const BREAKPOINT_ENTRY_SIZE = 16;

/** The extra data of WriteBreakPointEx / RestoreBreakPointEx: the entries back to back. */
export function encodeBreakpointEntries(entries: readonly BreakpointEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * BREAKPOINT_ENTRY_SIZE);
  const v = viewOf(out);
  entries.forEach((e, i) => {
    v.setBigUint64(i * BREAKPOINT_ENTRY_SIZE, BigInt.asUintN(64, e.address), true);
    v.setUint32(i * BREAKPOINT_ENTRY_SIZE + 8, e.handle >>> 0, true);
  });
  return out;
}

/** Reads `count` entries (at most as many as `data` holds). */
export function decodeBreakpointEntries(data: Uint8Array, count: number): BreakpointEntry[] {
  const n = Math.min(count, Math.floor(data.length / BREAKPOINT_ENTRY_SIZE));
  const v = viewOf(data);
  return Array.from({ length: n }, (_, i) => ({
    address: v.getBigUint64(i * BREAKPOINT_ENTRY_SIZE, true),
    handle: v.getUint32(i * BREAKPOINT_ENTRY_SIZE + 8, true),
  }));
}
