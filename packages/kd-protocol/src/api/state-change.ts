import { VmkdError } from '../errors.js';
import { KdLimits, KdStateChange } from './constants.js';
import { KdApiErrorCode } from './errors.js';
import type { KdArch } from './manipulate.js';
import { defineStruct, fieldAt, requireLength, viewOf, type FieldsOf, type Layout, type StructCodec } from './struct.js';

/** Header of `DBGKD_ANY_WAIT_STATE_CHANGE` (spec 2.5); the padding word at 0x0C stays in `unused`. */
const HEADER = {
  newState: { offset: 0x00, type: 'u32' },
  processorLevel: { offset: 0x04, type: 'u16' },
  processor: { offset: 0x06, type: 'u16' },
  numberProcessors: { offset: 0x08, type: 'u32' },
  thread: { offset: 0x10, type: 'u64' },
  programCounter: { offset: 0x18, type: 'u64' },
} as const;

const UNIONS = {
  none: {},
  exception: {
    exceptionCode: { offset: 0x20, type: 'u32' },
    exceptionFlags: { offset: 0x24, type: 'u32' },
    exceptionRecord: { offset: 0x28, type: 'u64' },
    exceptionAddress: { offset: 0x30, type: 'u64' },
    numberParameters: { offset: 0x38, type: 'u32' },
    exceptionInformation: { offset: 0x40, type: 'u64[]', count: 15 },
    firstChance: { offset: 0xb8, type: 'u32' },
  },
  loadSymbols: {
    pathNameLength: { offset: 0x20, type: 'u32' },
    baseOfDll: { offset: 0x28, type: 'u64' },
    processId: { offset: 0x30, type: 'u64' },
    checkSum: { offset: 0x38, type: 'u32' },
    sizeOfImage: { offset: 0x3c, type: 'u32' },
    unloadSymbols: { offset: 0x40, type: 'u8' },
  },
  commandString: {
    flags: { offset: 0x20, type: 'u32' },
    reserved1: { offset: 0x24, type: 'u32' },
    reserved2: { offset: 0x28, type: 'u64[]', count: 7 },
  },
} as const satisfies Record<string, Layout>;

/** Control reports at 0xC0: both layouts name the same fields, with AMD64 Dr6/Dr7 64-bit. */
const REPORTS = {
  amd64: {
    dr6: { offset: 0xc0, type: 'u64' },
    dr7: { offset: 0xc8, type: 'u64' },
    eFlags: { offset: 0xd0, type: 'u32' },
    instructionCount: { offset: 0xd4, type: 'u16' },
    reportFlags: { offset: 0xd6, type: 'u16' },
    instructionStream: { offset: 0xd8, type: 'bytes', count: 16 },
    segCs: { offset: 0xe8, type: 'u16' },
    segDs: { offset: 0xea, type: 'u16' },
    segEs: { offset: 0xec, type: 'u16' },
    segFs: { offset: 0xee, type: 'u16' },
  },
  x86: {
    dr6: { offset: 0xc0, type: 'u32' },
    dr7: { offset: 0xc4, type: 'u32' },
    instructionCount: { offset: 0xc8, type: 'u16' },
    reportFlags: { offset: 0xca, type: 'u16' },
    instructionStream: { offset: 0xcc, type: 'bytes', count: 16 },
    segCs: { offset: 0xdc, type: 'u16' },
    segDs: { offset: 0xde, type: 'u16' },
    segEs: { offset: 0xe0, type: 'u16' },
    segFs: { offset: 0xe2, type: 'u16' },
    eFlags: { offset: 0xe4, type: 'u32' },
  },
} as const satisfies Record<KdArch, Layout>;

export type StateChangeKind = keyof typeof UNIONS;
type Header = FieldsOf<typeof HEADER>;
type Tail = { unused: Uint8Array; data: Uint8Array };

type Variant<K extends StateChangeKind, R extends KdArch> = { kind: K; arch: R } & Header & FieldsOf<(typeof UNIONS)[K]> & FieldsOf<(typeof REPORTS)[R]> & Tail;

/**
 * A decoded `DBGKD_ANY_WAIT_STATE_CHANGE`: `kind` follows NewState (`none` for an unknown state,
 * whose union stays raw in `unused`), `arch` selects the control report. `data` is the extra data
 * (LoadSymbols: NUL-terminated path; CommandString: `name\0command\0`), a view into the payload.
 */
export type WaitStateChange = {
  [K in StateChangeKind]: Variant<K, 'amd64'> | Variant<K, 'x86'>;
}[StateChangeKind];

export type WaitStateChangeOf<K extends StateChangeKind, R extends KdArch = 'amd64'> = Extract<WaitStateChange, { kind: K; arch: R }>;

/** Input of encodeWaitStateChange(): omitted fields are zero. */
export type WaitStateChangeInit = {
  [K in StateChangeKind]:
    | ({ kind: K; arch: 'amd64' } & Partial<Omit<Variant<K, 'amd64'>, 'kind' | 'arch'>>)
    | ({ kind: K; arch: 'x86' } & Partial<Omit<Variant<K, 'x86'>, 'kind' | 'arch'>>);
}[StateChangeKind];

const NAME = 'DBGKD_ANY_WAIT_STATE_CHANGE';
const codecs = new Map<string, StructCodec<Layout>>();
for (const [kind, union] of Object.entries(UNIONS)) {
  for (const [arch, report] of Object.entries(REPORTS)) {
    codecs.set(`${kind}/${arch}`, defineStruct(NAME, KdLimits.StateChangeSize, { ...HEADER, ...union, ...report }));
  }
}

/** The union kind of a NewState value (the alternate-source flag is ignored). */
export function stateChangeKindOf(newState: number): StateChangeKind {
  switch ((newState & ~KdStateChange.AlternateFlag) >>> 0) {
    case KdStateChange.Exception:
      return 'exception';
    case KdStateChange.LoadSymbols:
      return 'loadSymbols';
    case KdStateChange.CommandString:
      return 'commandString';
    default:
      return 'none';
  }
}

const STATE_OF_KIND = {
  exception: KdStateChange.Exception,
  loadSymbols: KdStateChange.LoadSymbols,
  commandString: KdStateChange.CommandString,
} as const;

export interface StateChangeDecodeOptions {
  /** Control report layout (default amd64). */
  readonly arch?: KdArch;
}

export function decodeWaitStateChange(payload: Uint8Array, options: StateChangeDecodeOptions = {}): WaitStateChange {
  const arch = options.arch ?? 'amd64';
  const size = KdLimits.StateChangeSize;
  if (payload.length < size) {
    const kind = payload.length >= 4 ? stateChangeKindOf(viewOf(payload).getUint32(0, true)) : 'none';
    requireLength(NAME, () => fieldAt({ ...HEADER, ...UNIONS[kind], ...REPORTS[arch] }, payload.length), payload, size);
  }
  const view = viewOf(payload);
  const kind = stateChangeKindOf(view.getUint32(0, true));
  const out = codecs.get(`${kind}/${arch}`)!.read(view, payload, 0) as Record<string, unknown>;
  out.kind = kind;
  out.arch = arch;
  out.data = payload.subarray(size);
  return out as WaitStateChange;
}

export function encodeWaitStateChange(message: WaitStateChangeInit): Uint8Array {
  const size = KdLimits.StateChangeSize;
  const data = message.data ?? new Uint8Array(0);
  if (size + data.length > KdLimits.MaxAcceptPayload) {
    throw new VmkdError(KdApiErrorCode.TooLarge, `${NAME}: ${data.length} data bytes exceed the packet limit`, {
      details: { structure: NAME, field: 'data', size: size + data.length, max: KdLimits.MaxAcceptPayload },
    });
  }
  const codec = codecs.get(`${message.kind}/${message.arch}`);
  if (codec === undefined) {
    throw new VmkdError(KdApiErrorCode.FieldRange, `${NAME}: unknown kind/arch ${String(message.kind)}/${String(message.arch)}`, {
      details: { structure: NAME, field: 'kind' },
    });
  }
  const value = message.newState === undefined && message.kind !== 'none' ? { ...message, newState: STATE_OF_KIND[message.kind] } : message;
  const out = new Uint8Array(size + data.length);
  codec.write(viewOf(out), out, 0, value as never);
  out.set(data, size);
  return out;
}
