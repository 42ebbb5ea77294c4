import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryPacketPair, KdPacketType } from '@vmkd/kd-protocol';
import { createTraceWriter, route, type TraceSink } from '../src/index.js';
import { breakpointStateChange, print, readVirtual } from './helpers/packets.js';
import { nextPacket, tick } from './helpers/link-waits.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-router-trace-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function parseLines(text: string): Record<string, unknown>[] {
  const lines = text.split('\n');
  expect(lines.pop()).toBe(''); // every record ends with a newline, nothing is half-written
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('route trace file', () => {
  it('writes one JSON record per line with time, direction, type and the decoded packet', async () => {
    const file = join(dir, 'route.jsonl');
    const [guest, target] = createMemoryPacketPair();
    const [dbg, endpoint] = createMemoryPacketPair();
    const r = route(guest, endpoint, { trace: file });
    const stop = nextPacket(dbg, KdPacketType.StateChange64);
    await target.send(breakpointStateChange(0xfffff80000401234n));
    await stop;
    const request = nextPacket(target);
    await dbg.send(readVirtual(0xfffff80000400000n, 64));
    await request;
    const out = nextPacket(dbg, KdPacketType.DebugIo);
    await target.send(print('traced\n'));
    await out;
    await dbg.breakIn();
    await tick(5);
    await r.close();

    const records = parseLines(await readFile(file, 'utf8'));
    for (const rec of records) expect(typeof rec.t).toBe('number');
    const packets = records.filter((rec) => rec.kind === 'packet');
    expect(packets.map((p) => [p.dir, p.typeName])).toEqual([
      ['guest→debugger', 'KD_STATE_CHANGE64'],
      ['debugger→guest', 'KD_STATE_MANIPULATE'],
      ['guest→debugger', 'KD_DEBUG_IO'],
    ]);
    expect(packets[0]).toMatchObject({ type: 7, origin: 'forwarded', decoded: { state: 'Exception', fields: { programCounter: '0xfffff80000401234' } } });
    expect(packets[1]).toMatchObject({ type: 2, length: 56, decoded: { api: 'ReadVirtualMemory', fields: { transferCount: 64 } } });
    expect(packets[2]).toMatchObject({ decoded: { api: 'PrintString', text: 'traced\n' } });
    const links = records.filter((rec) => rec.kind === 'link').map((rec) => `${String(rec.side)}:${String(rec.event)}`);
    expect(links).toEqual(expect.arrayContaining(['guest:connect', 'endpoint:connect', 'endpoint:breakin']));
    expect(records.at(-1)).toMatchObject({ kind: 'route-closed' });
    // Timestamps never go backwards.
    const times = records.map((rec) => rec.t as number);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('reports an unopenable trace file through the writer, without disturbing the route', async () => {
    const [guest, target] = createMemoryPacketPair();
    const [dbg, endpoint] = createMemoryPacketPair();
    const r = route(guest, endpoint, { trace: join(dir, 'no', 'such', 'dir', 'trace.jsonl') });
    const stop = nextPacket(dbg, KdPacketType.StateChange64);
    await target.send(breakpointStateChange(0x1000n));
    await stop;
    await tick(5);
    expect(r.stats().trace?.dropped).toBeGreaterThan(0);
    await r.close();
  });
});

describe('trace writer bounded buffer', () => {
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

  it.runIf(process.platform !== 'win32')('stays within its bound on a FIFO whose reader stalls', async () => {
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
