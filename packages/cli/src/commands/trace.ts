import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { VmkdError } from '@vmkd/kd-protocol';
import { CliErrorCode, usageError } from '../errors.js';
import type { CommandContext } from '../output/command-context.js';
import { formatTraceRecord } from './trace-format.js';
import { INITIAL_KDCOM_REPLAY, replayKdcom } from './trace-kdcom.js';
import { createKdnetTraceDecoder, type KdnetTraceDecoder } from './trace-datagram.js';
import { checkTraceRecord, isMalformed, type TraceRecord } from './trace-record.js';

/** A trace line longer than this is not one the router wrote; skip it rather than buffer it. */
const MAX_LINE_CHARS = 1 << 20;
/** Skipped lines are each named up to this many times; the rest only counted (a binary file is all garbage). */
const MAX_SKIP_NOTES = 20;

export interface TraceCommandOptions {
  /** Write the session's packets as a KDCOM byte stream (for `kd-decode`) instead of text. */
  readonly kdcom?: boolean;
  /** Decrypt the recorded KDNET datagrams (`--trace-bytes` of a KDNET route) with this key instead. */
  readonly kdnetKey?: string;
}

export interface TraceSummary {
  readonly file: string;
  readonly records: number;
  readonly malformedLines: number;
  /** Seconds between the first and last timestamped record. */
  readonly durationSeconds: number;
  readonly kinds: Readonly<Record<string, number>>;
  readonly packetTypes: Readonly<Record<string, number>>;
}

/**
 * Streams a router trace (JSONL), printing one line per record; --json prints a summary document;
 * --kdcom re-emits the packets as KDCOM bytes. Malformed lines are skipped and counted. A reader
 * of stdout that goes away (`| head`) ends the output: the file is closed and the exit status is 0.
 */
export async function runTrace(ctx: CommandContext, file: string, options: TraceCommandOptions = {}): Promise<number> {
  const kdcom = options.kdcom === true;
  if (kdcom && options.kdnetKey !== undefined) throw usageError('--kdcom and --kdnet-key are two different outputs: give one');
  const kdnet = options.kdnetKey === undefined ? undefined : createKdnetTraceDecoder(options.kdnetKey);
  if (kdcom && ctx.json) throw usageError('--kdcom writes a byte stream: it does not combine with --json');
  if (kdcom && ctx.io.stdout.isTTY === true) throw usageError('--kdcom writes binary KDCOM bytes: pipe them into "kd-decode" or redirect them to a file');
  try {
    const info = await stat(file);
    if (!info.isFile() && !info.isFIFO()) throw new Error('not a regular file');
  } catch (cause) {
    throw new VmkdError(CliErrorCode.BadFile, `cannot read trace file ${file}`, { cause, details: { file } });
  }
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let t0: number | undefined;
  let tLast: number | undefined;
  let records = 0;
  let malformed = 0;
  let replay = INITIAL_KDCOM_REPLAY;
  const kinds: Record<string, number> = {};
  const packetTypes: Record<string, number> = {};
  let lineNumber = 0;
  const skip = (reason: string): void => {
    malformed++;
    if (malformed <= MAX_SKIP_NOTES) ctx.status(`${file}:${lineNumber}: skipped (${reason})`);
    else if (malformed === MAX_SKIP_NOTES + 1) ctx.status(`${file}: more malformed lines skipped; counted below`);
  };
  try {
    for await (const line of lines) {
      if (ctx.io.shutdown.aborted) break;
      lineNumber++;
      if (line.trim() === '') continue;
      let checked: ReturnType<typeof checkTraceRecord>;
      try {
        checked = line.length > MAX_LINE_CHARS ? { malformed: 'line too long' } : checkTraceRecord(JSON.parse(line));
      } catch (error) {
        checked = { malformed: error instanceof Error ? error.message : String(error) };
      }
      if (isMalformed(checked)) {
        skip(checked.malformed);
        continue;
      }
      const record: TraceRecord = checked;
      const t = typeof record.t === 'number' ? record.t : undefined;
      let text: string | undefined;
      if (kdnet !== undefined) {
        // Only the datagrams are printed, decrypted, once the whole file is read (a session's
        // data key comes from its poke/response exchange, kd-protocol.md §3).
        if (record.kind === 'datagram') kdnet.add(record);
      } else if (kdcom) {
        const step = replayKdcom(replay, record);
        replay = step.state;
        if (step.bytes !== undefined) ctx.io.stdout.write(step.bytes);
      } else if (!ctx.json) {
        try {
          text = formatTraceRecord(record, t0 ?? t ?? 0, ctx.out);
        } catch (error) {
          skip(error instanceof Error ? error.message : String(error));
          continue;
        }
      }
      records++;
      kinds[record.kind] = (kinds[record.kind] ?? 0) + 1;
      if (record.kind === 'packet' && typeof record['typeName'] === 'string') {
        packetTypes[record['typeName']] = (packetTypes[record['typeName']] ?? 0) + 1;
      }
      if (t !== undefined) {
        t0 ??= t;
        tLast = t;
      }
      if (text !== undefined) ctx.io.stdout.write(`${text}\n`);
    }
  } finally {
    lines.close();
    input.destroy();
  }
  const summary: TraceSummary = {
    file,
    records,
    malformedLines: malformed,
    durationSeconds: t0 !== undefined && tLast !== undefined ? (tLast - t0) / 1000 : 0,
    kinds,
    packetTypes,
  };
  const skipped = malformed > 0 ? `, ${malformed} malformed line${malformed === 1 ? '' : 's'} skipped` : '';
  if (kdnet !== undefined) return printKdnet(ctx, file, kdnet, records, skipped);
  if (ctx.json) ctx.result(summary, () => '');
  else if (kdcom) {
    ctx.status(`${replay.frames} KDCOM frames, ${replay.breakins} break-ins, ${replay.resets} resets from ${records} records${skipped}`);
    if (replay.withoutBytes > 0) ctx.status(`${replay.withoutBytes} packet records carry no raw bytes (the route did not record them) and were left out`);
    if (replay.badBytes > 0) ctx.status(`${replay.badBytes} packet records had unusable raw bytes and were left out`);
  } else ctx.status(`${records} records over ${summary.durationSeconds.toFixed(3)} s${skipped}`);
  if (kdcom && replay.frames === 0 && replay.withoutBytes > 0) {
    throw new VmkdError(CliErrorCode.BadFile, `no packet in ${file} carries its raw bytes, so there is no KDCOM stream to re-emit`, { details: { file } });
  }
  return records === 0 && malformed > 0 ? 1 : 0;
}

/** `--kdnet-key`: one JSON line per recorded datagram, as `kd-decode --kdnet-key` prints a capture. */
function printKdnet(ctx: CommandContext, file: string, kdnet: KdnetTraceDecoder, records: number, skipped: string): number {
  if (kdnet.datagrams === 0) {
    throw new VmkdError(CliErrorCode.BadFile, `no KDNET datagram in ${file}: record a KDNET route with --trace-bytes`, { details: { file } });
  }
  const decoder = kdnet.decode();
  let authenticated = 0;
  for (let next = decoder.next(); ; next = decoder.next()) {
    if (next.done === true) {
      const summary = next.value;
      if (ctx.json) ctx.result({ file, records, ...summary }, () => '');
      else {
        ctx.status(
          `${kdnet.datagrams} datagrams from ${records} records: ${String(summary['authenticated'])} authenticated, ${String(summary['unauthenticated'])} not${kdnet.unusable > 0 ? `, ${kdnet.unusable} unusable records` : ''}${skipped}`,
        );
      }
      break;
    }
    if (next.value['event'] !== 'unauthenticated') authenticated += 1;
    if (!ctx.json) ctx.io.stdout.write(`${JSON.stringify(next.value)}\n`);
  }
  return authenticated === 0 ? 1 : 0;
}
