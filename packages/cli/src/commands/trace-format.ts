import { formatFastPathStats, initialFastPathState, type FastPathStats } from '@vmkd/vmm-memory';
import type { Style } from '../output/style.js';
import type { TraceRecord } from './trace-record.js';

export type { TraceRecord } from './trace-record.js';

/** Fields worth a glance per packet, in display order, with short labels. */
const SHOWN_FIELDS: readonly (readonly [field: string, label: string])[] = [
  ['targetBaseAddress', 'addr'],
  ['transferCount', 'count'],
  ['actualBytesRead', 'read'],
  ['actualBytesWritten', 'written'],
  ['breakPointAddress', 'bp'],
  ['breakPointHandle', 'handle'],
  ['continueStatus', 'continue'],
  ['traceFlag', 'trace'],
  ['exceptionCode', 'code'],
  ['exceptionAddress', 'at'],
  ['baseOfDll', 'base'],
  ['processor', 'cpu'],
  ['minorVersion', 'build'],
  ['returnStatus', 'status'],
];

const asText = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);

/** Output fields a request carries only as garbage or zero (KD spec 4.2): shown on replies only. */
const REPLY_ONLY = new Set(['actualBytesRead', 'actualBytesWritten', 'returnStatus', 'minorVersion']);

function packetSummary(decoded: unknown, isRequest: boolean): string {
  if (decoded === null || typeof decoded !== 'object') return '';
  const d = decoded as Record<string, unknown>;
  const parts: string[] = [];
  const name = d['api'] ?? d['state'];
  if (name !== undefined) parts.push(asText(name));
  const fields = (d['fields'] ?? {}) as Record<string, unknown>;
  for (const [field, label] of SHOWN_FIELDS) {
    const value = fields[field];
    // Requests carry garbage status words (KD spec 4.2); a zero processor is noise.
    if (value === undefined || (field === 'processor' && value === 0) || (isRequest && REPLY_ONLY.has(field))) continue;
    parts.push(`${label}=${asText(value)}`);
  }
  if (typeof d['imageName'] === 'string') parts.push(d['imageName']);
  if (typeof d['text'] === 'string') parts.push(JSON.stringify(d['text'].length > 120 ? `${d['text'].slice(0, 117)}...` : d['text']));
  if (d['error'] !== undefined) parts.push(`decode error ${asText((d['error'] as { code?: unknown }).code)}`);
  return parts.join('  ');
}

function errorText(error: unknown): string {
  if (error === null || typeof error !== 'object') return '';
  const e = error as { code?: unknown; message?: unknown };
  return `${asText(e.code)}: ${asText(e.message)}`;
}

/** One human line for one trace record; `t0` is the first record's time (lines show seconds since). */
export function formatTraceRecord(record: TraceRecord, t0: number, style: Style): string {
  const time = typeof record.t === 'number' ? ((record.t - t0) / 1000).toFixed(6).padStart(12) : ' '.repeat(12);
  const body = ((): string => {
    switch (record.kind) {
      case 'packet': {
        const dir = asText(record['dir']);
        const arrow = dir.startsWith('guest') ? style.cyan('guest→debugger') : style.yellow('debugger→guest');
        const origin = record['origin'] !== undefined && record['origin'] !== 'forwarded' ? style.dim(` [${asText(record['origin'])}]`) : '';
        const summary = packetSummary(record['decoded'], !dir.startsWith('guest'));
        return `${arrow}  ${asText(record['typeName'])}  ${summary}  ${style.dim(`${asText(record['length'])} B`)}${origin}`;
      }
      case 'link': {
        const peer = record['peer'] !== undefined ? ` ${asText(record['peer'])}` : '';
        const error = record['error'] !== undefined ? `  ${style.red(errorText(record['error']))}` : '';
        return `${style.bold(`${asText(record['side'])} ${asText(record['event'])}`)}${peer}${error}`;
      }
      case 'dropped':
        return style.red(`dropped ${asText(record['typeName'])} (${asText(record['dir'])}, ${asText(record['reason'])})`);
      case 'send-failed':
        return style.red(`send failed ${asText(record['typeName'])} (${asText(record['dir'])}): ${errorText(record['error'])}`);
      case 'target-gone':
        return style.red(`target gone${record['failedRequest'] === true ? ' (the pending request was failed)' : ''}`);
      case 'target-back':
        return style.green('target back');
      case 'guest-error':
        return style.red(`guest ${asText(record['operation'])} failed: ${errorText(record['error'])}`);
      case 'route-closed':
        return style.bold('route closed');
      // Records of `vmkd route --relay` (a transparent relay's tap).
      case 'frame': {
        const dir = asText(record['dir']);
        const frame = (record['frame'] ?? {}) as Record<string, unknown>;
        const arrow = dir.startsWith('guest') ? style.cyan(dir) : style.yellow(dir);
        const event = asText(frame['event']);
        if (event !== 'frame') return `${arrow}  ${style.red(event)}  ${JSON.stringify(frame)}`;
        const bad = frame['checksumOk'] === false ? `  ${style.red('bad checksum')}` : '';
        const summary = frame['message'] === undefined ? '' : `  ${packetSummary(frame['message'], !dir.startsWith('guest'))}`;
        return `${arrow}  frame  ${asText(frame['typeName'])}  ${style.dim(`id=${asText(frame['id'])}`)}${summary}${bad}  ${style.dim(`${asText(frame['byteCount'])} B`)}`;
      }
      case 'chunk': {
        const hex = asText(record['hex']);
        return `${asText(record['dir'])}  chunk  ${asText(record['length'])} B  ${style.dim(hex.length > 48 ? `${hex.slice(0, 48)}…` : hex)}`;
      }
      // A KDNET transport's own wire (`--trace-bytes`): `vmkd trace --kdnet-key` decrypts these.
      case 'datagram': {
        const arrow = record['direction'] === 'in' ? '⇐' : '⇒';
        return `${asText(record['side'])} ${arrow} udp ${asText(record['from'])} → ${asText(record['to'])}  ${style.dim(`${asText(record['length'])} B`)}`;
      }
      case 'relay-ended':
        return style.bold(`relay ended${record['side'] === undefined ? '' : ` (${asText(record['side'])} side)`}${record['error'] === undefined ? '' : `: ${errorText(record['error'])}`}`);
      // The memory fast path's counters (`vmkd route` with `?memory=` or `sim://?ram=`).
      case 'fast-path': {
        // Counters absent from an older or hand-edited record read as 0.
        const stats: FastPathStats = { ...initialFastPathState.stats, ...(record['stats'] as Partial<FastPathStats>) };
        const reason = typeof record['reason'] === 'string' ? `: ${record['reason']}` : '';
        const text = `${asText(record['event'])}${reason}  ${formatFastPathStats(stats)}`;
        return record['event'] === 'disabled' ? style.red(text) : style.dim(text);
      }
      case 'trace-dropped':
        return style.red(`… ${asText(record['count'])} records dropped by the trace writer (disk too slow)`);
      default:
        return `${record.kind} ${JSON.stringify(record)}`;
    }
  })();
  return `${time}  ${body}`;
}
