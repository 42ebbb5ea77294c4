import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { VmkdError } from '@vmkd/kd-protocol';
import { CliErrorCode } from '../errors.js';
import type { CommandContext } from '../output/command-context.js';
import { formatTraceRecord, type TraceRecord } from './trace-format.js';

/** A trace line longer than this is not one the router wrote; skip it rather than buffer it. */
const MAX_LINE_CHARS = 1 << 20;

export interface TraceSummary {
  readonly file: string;
  readonly records: number;
  readonly malformedLines: number;
  /** Seconds between the first and last timestamped record. */
  readonly durationSeconds: number;
  readonly kinds: Readonly<Record<string, number>>;
  readonly packetTypes: Readonly<Record<string, number>>;
}

/** Streams a router trace (JSONL), printing one line per record; --json prints a summary document. */
export async function runTrace(ctx: CommandContext, file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile() && !info.isFIFO()) throw new Error('not a regular file');
  } catch (cause) {
    throw new VmkdError(CliErrorCode.BadFile, `cannot read trace file ${file}`, { cause, details: { file } });
  }
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let t0: number | undefined;
  let tLast: number | undefined;
  let records = 0;
  let malformed = 0;
  const kinds: Record<string, number> = {};
  const packetTypes: Record<string, number> = {};
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let record: TraceRecord;
    try {
      if (line.length > MAX_LINE_CHARS) throw new Error('line too long');
      const parsed: unknown = JSON.parse(line);
      if (parsed === null || typeof parsed !== 'object' || typeof (parsed as { kind?: unknown }).kind !== 'string') {
        throw new Error('not a trace record');
      }
      record = parsed as TraceRecord;
    } catch (error) {
      malformed++;
      ctx.status(`${file}:${lineNumber}: skipped (${error instanceof Error ? error.message : String(error)})`);
      continue;
    }
    records++;
    kinds[record.kind] = (kinds[record.kind] ?? 0) + 1;
    if (record.kind === 'packet' && typeof record['typeName'] === 'string') {
      packetTypes[record['typeName']] = (packetTypes[record['typeName']] ?? 0) + 1;
    }
    if (typeof record.t === 'number') {
      t0 ??= record.t;
      tLast = record.t;
    }
    if (!ctx.json) ctx.io.stdout.write(`${formatTraceRecord(record, t0 ?? 0, ctx.out)}\n`);
  }
  const summary: TraceSummary = {
    file,
    records,
    malformedLines: malformed,
    durationSeconds: t0 !== undefined && tLast !== undefined ? (tLast - t0) / 1000 : 0,
    kinds,
    packetTypes,
  };
  if (ctx.json) ctx.result(summary, () => '');
  else ctx.status(`${records} records over ${summary.durationSeconds.toFixed(3)} s${malformed > 0 ? `, ${malformed} malformed lines skipped` : ''}`);
  return records === 0 && malformed > 0 ? 1 : 0;
}
