/** A trace line as the router writes it (RouteEvent, or the writer's own `trace-dropped` marker). */
export interface TraceRecord {
  readonly kind: string;
  readonly t?: number;
  readonly [key: string]: unknown;
}

type FieldType = 'string' | 'number' | 'object' | 'boolean';

/**
 * The fields `vmkd trace` reads per record kind, and their types. A record missing one is
 * malformed (a hand-edited file, a truncated write, another program's JSONL) and is skipped and
 * counted, never printed as `undefined` nor allowed to stop the whole file. Kinds not listed here
 * are newer than this reader and are shown as their JSON.
 */
const REQUIRED: Readonly<Record<string, Readonly<Record<string, FieldType>>>> = {
  packet: { dir: 'string', typeName: 'string', length: 'number' },
  link: { side: 'string', event: 'string' },
  dropped: { dir: 'string', typeName: 'string', reason: 'string' },
  'send-failed': { dir: 'string', typeName: 'string', error: 'object' },
  'guest-error': { operation: 'string', error: 'object' },
  frame: { dir: 'string', frame: 'object' },
  chunk: { dir: 'string', length: 'number', hex: 'string' },
  datagram: { side: 'string', direction: 'string', from: 'string', to: 'string', length: 'number' },
  'trace-dropped': { count: 'number' },
  'fast-path': { event: 'string', stats: 'object' },
};

/** Fields that may be absent but, when present, must have this type. */
const OPTIONAL: Readonly<Record<string, FieldType>> = {
  t: 'number',
  origin: 'string',
  peer: 'string',
  failedRequest: 'boolean',
  type: 'number',
  bytes: 'string',
};

function hasType(value: unknown, type: FieldType): boolean {
  if (type === 'object') return value !== null && typeof value === 'object';
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value);
  return typeof value === type;
}

/** The record, or why it is not one `vmkd trace` can show. */
export function checkTraceRecord(parsed: unknown): TraceRecord | { readonly malformed: string } {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { malformed: 'not a trace record' };
  const record = parsed as Record<string, unknown>;
  if (typeof record['kind'] !== 'string' || record['kind'] === '') return { malformed: 'not a trace record' };
  const kind = record['kind'];
  for (const [field, type] of Object.entries(REQUIRED[kind] ?? {})) {
    if (!hasType(record[field], type)) return { malformed: `${kind} record without ${type} "${field}"` };
  }
  for (const [field, type] of Object.entries(OPTIONAL)) {
    if (record[field] !== undefined && !hasType(record[field], type)) return { malformed: `${kind} record with a non-${type} "${field}"` };
  }
  return record as TraceRecord;
}

export function isMalformed(value: TraceRecord | { readonly malformed: string }): value is { readonly malformed: string } {
  return 'malformed' in value && typeof value.malformed === 'string' && !('kind' in value);
}
