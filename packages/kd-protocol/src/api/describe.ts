import { isVmkdError } from '../errors.js';
import type { KdPacket } from '../packet-link.js';
import { KdPacketType, kdApiName, packetTypeName } from './constants.js';
import { decodeControlRequest, decodeDebugIo, decodeFileIo, decodeTraceIo, debugIoText } from './io.js';
import { decodeManipulate, type KdArch } from './manipulate.js';
import { decodeWaitStateChange } from './state-change.js';

/** Fields shown in hex because they are codes or flags rather than quantities. */
const HEX_FIELDS = new Set(['apiNumber', 'returnStatus', 'status', 'continueStatus', 'exceptionCode', 'exceptionFlags', 'newState', 'contextFlags', 'flags', 'machineType', 'majorVersion', 'eFlags', 'reportFlags', 'msr', 'dataValueLow', 'dataValueHigh', 'desiredAccess', 'fileAttributes']);
const SKIP = new Set(['layout', 'kind', 'arch', 'data', 'unused']);

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

function toHexBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function jsonValue(key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return hex(value);
  if (typeof value === 'number') return HEX_FIELDS.has(key) ? hex(value) : value;
  if (value instanceof Uint8Array) return toHexBytes(value);
  if (Array.isArray(value)) return value.map((v) => jsonValue(key, v));
  return value;
}

function fieldsOf(message: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (!SKIP.has(key)) out[key] = jsonValue(key, value);
  }
  const unused = (message as { unused?: Uint8Array }).unused;
  if (unused !== undefined && unused.some((b) => b !== 0)) out.unused = toHexBytes(unused);
  return out;
}

const latin1 = new TextDecoder('latin1');
const utf16 = new TextDecoder('utf-16le');

/** Text up to the first NUL. */
function cString(bytes: Uint8Array, decoder: typeof latin1, unit = 1): string {
  let end = 0;
  while (end + unit <= bytes.length && (bytes[end] !== 0 || (unit === 2 && bytes[end + 1] !== 0))) end += unit;
  return decoder.decode(bytes.subarray(0, end));
}

const STATE_NAMES = { exception: 'Exception', loadSymbols: 'LoadSymbols', commandString: 'CommandString', none: undefined } as const;

/**
 * A JSON-friendly description of one KD packet: packet type name, API or state name, decoded
 * fields (bigints and byte arrays as hex), data length and, where the message carries text, the
 * text. Never throws: a malformed payload is described with an `error` (code and message).
 */
export function describeKdPacket(packet: KdPacket, options: { arch?: KdArch } = {}): Record<string, unknown> {
  const { type, payload } = packet;
  const out: Record<string, unknown> = { type, typeName: packetTypeName(type), length: payload.length };
  try {
    switch (type) {
      case KdPacketType.StateManipulate: {
        const m = decodeManipulate(payload, options);
        out.api = kdApiName(m.apiNumber) ?? `unknown(${hex(m.apiNumber)})`;
        out.fields = fieldsOf(m);
        out.dataLength = m.data.length;
        break;
      }
      case KdPacketType.StateChange64: {
        const s = decodeWaitStateChange(payload, options);
        out.state = STATE_NAMES[s.kind] ?? `unknown(${hex(s.newState)})`;
        out.fields = fieldsOf(s);
        out.dataLength = s.data.length;
        if (s.kind === 'loadSymbols') out.imageName = cString(s.data, latin1);
        if (s.kind === 'commandString') out.text = latin1.decode(s.data);
        break;
      }
      case KdPacketType.DebugIo: {
        const d = decodeDebugIo(payload);
        out.api = d.layout === 'printString' ? 'PrintString' : d.layout === 'getString' ? 'GetString' : `unknown(${hex(d.apiNumber)})`;
        out.fields = fieldsOf(d);
        out.dataLength = d.data.length;
        out.text = debugIoText(d);
        break;
      }
      case KdPacketType.TraceIo: {
        const t = decodeTraceIo(payload);
        out.api = t.layout === 'printTrace' ? 'PrintTrace' : `unknown(${hex(t.apiNumber)})`;
        out.fields = fieldsOf(t);
        out.dataLength = t.data.length;
        break;
      }
      case KdPacketType.FileIo: {
        const f = decodeFileIo(payload);
        const names = { createFile: 'CreateFile', readFile: 'ReadFile', writeFile: 'WriteFile', closeFile: 'CloseFile' } as const;
        out.api = f.layout === 'none' ? `unknown(${hex(f.apiNumber)})` : names[f.layout];
        out.fields = fieldsOf(f);
        out.dataLength = f.data.length;
        if (f.layout === 'createFile' && f.data.length >= 2) out.fileName = cString(f.data, utf16, 2);
        break;
      }
      case KdPacketType.ControlRequest: {
        const c = decodeControlRequest(payload);
        out.api = c.layout === 'requestBreakpoint' ? 'RequestHardwareBp' : c.layout === 'releaseBreakpoint' ? 'ReleaseHardwareBp' : `unknown(${hex(c.apiNumber)})`;
        out.fields = fieldsOf(c);
        out.dataLength = c.data.length;
        break;
      }
      default:
        out.dataLength = payload.length;
    }
  } catch (error) {
    out.error = isVmkdError(error) ? error.toJSON() : { code: 'ERR_KD_API_DECODE', message: String(error) };
  }
  return out;
}
