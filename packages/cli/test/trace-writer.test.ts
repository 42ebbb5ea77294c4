import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { createMemoryPacketPair, KdPacketType } from '@vmkd/kd-protocol';
import { route } from '@vmkd/router';
import { createTraceWriter, type TraceSink } from '../src/output/trace-writer.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-trace-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function parseLines(text: string): Record<string, unknown>[] {
  const lines = text.split('\n');
  expect(lines.pop()).toBe(''); // every record ends with a newline, nothing is half-written
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('trace file writer', () => {
  it('reports an unopenable trace file through the writer, without disturbing the route', async () => {
    const [guest, target] = createMemoryPacketPair();
    const [dbg, endpoint] = createMemoryPacketPair();
    const r = route(guest, endpoint, { trace: createTraceWriter(join(dir, 'no', 'such', 'dir', 'trace.jsonl')) });
    const stop = new Promise<void>((resolve) => dbg.events$.subscribe((e) => e.kind === 'packet' && e.packet.type === KdPacketType.StateChange64 && resolve()));
    await target.send({ type: KdPacketType.StateChange64, payload: new Uint8Array(240) });
    await stop;
    // The open fails asynchronously; on a busy machine that takes a while, so wait for it (bounded).
    for (let waited = 0; (r.stats().trace?.dropped ?? 0) === 0 && waited < 10_000; waited += 5) await tick(5);
    expect(r.stats().trace?.dropped).toBeGreaterThan(0);
    await r.close();
  });

  it('drops records beyond the bound while the sink is stalled, and says so in the file', async () => {
    const chunks: Uint8Array[] = [];
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    const sink: TraceSink = {
      async write(chunk) {
        await stalled; // a disk that does not answer
        chunks.push(chunk);
      },
      close: () => Promise.resolve(),
    };
    const writer = createTraceWriter(sink, { maxBufferedBytes: 4096 });
    let accepted = 0;
    for (let i = 0; i < 1000; i++) if (writer.write({ kind: 'packet', i, pad: 'x'.repeat(60) })) accepted += 1;
    const stats = writer.stats();
    expect(stats.maxBufferedSeen).toBeLessThanOrEqual(4096);
    expect(stats.dropped).toBe(1000 - accepted);
    expect(stats.dropped).toBeGreaterThan(900);
    release();
    await writer.close();

    const records = parseLines(Buffer.concat(chunks).toString('utf8'));
    const gap = records.filter((rec) => rec.kind === 'trace-dropped');
    expect(gap.reduce((sum, rec) => sum + (rec.count as number), 0)).toBe(stats.dropped);
    const kept = records.filter((rec) => rec.kind === 'packet').map((rec) => rec.i as number);
    expect(kept).toHaveLength(accepted);
    expect([...kept].sort((a, b) => a - b)).toEqual(kept); // order preserved
  });

  const noFifos = skipUnlessCapable('fifos');
  it.skipIf(noFifos !== undefined)(titleWithSkip('stays within its bound on a FIFO whose reader stalls', noFifos), async () => {
    const fifo = join(dir, 'trace.fifo');
    execFileSync('mkfifo', [fifo]);
    // The reader opens the FIFO but does not read: once the pipe buffer fills, writes block.
    const reader = createReadStream(fifo);
    reader.pause();
    const writer = createTraceWriter(fifo, { maxBufferedBytes: 32 * 1024 });
    const line = { kind: 'packet', pad: 'y'.repeat(200) };
    let dropped = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 200; i++) if (!writer.write({ ...line, round, i })) dropped += 1;
      await tick(2);
      expect(writer.stats().bufferedBytes).toBeLessThanOrEqual(32 * 1024);
    }
    expect(dropped).toBeGreaterThan(0);
    expect(writer.stats().maxBufferedSeen).toBeLessThanOrEqual(32 * 1024);

    const received: Buffer[] = [];
    reader.on('data', (chunk) => received.push(chunk as Buffer));
    const ended = new Promise<void>((resolve) => reader.on('end', () => resolve()));
    reader.resume();
    await writer.close();
    await ended;
    const records = parseLines(Buffer.concat(received).toString('utf8'));
    expect(records.filter((rec) => rec.kind === 'trace-dropped').reduce((s, rec) => s + (rec.count as number), 0)).toBe(dropped);
    expect(records.filter((rec) => rec.kind === 'packet')).toHaveLength(40 * 200 - dropped);
  });
});
