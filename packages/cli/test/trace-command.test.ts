import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createManipulate, describeKdPacket, encodeDataFrame, encodeManipulate, KdApi, KdPacketType, packetTypeName } from '@vmkd/kd-protocol';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { createTraceWriter } from '../src/output/trace-writer.js';
import { CLI_SOURCE, createChildTracker, runInProcess, waitForExit } from './cli-harness.js';

const children = createChildTracker();
afterEach(() => children.killAll());

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-trace-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Writes a trace the way `vmkd route --trace` does: router records, through the router's writer. */
async function writeTrace(path: string): Promise<void> {
  const request = { type: KdPacketType.StateManipulate, payload: encodeManipulate(createManipulate(KdApi.ReadVirtualMemory, { targetBaseAddress: 0xfffff80000400000n, transferCount: 16 })) };
  const reply = {
    type: KdPacketType.StateManipulate,
    payload: encodeManipulate({ ...createManipulate(KdApi.ReadVirtualMemory, { targetBaseAddress: 0xfffff80000400000n, transferCount: 16, actualBytesRead: 16 }), data: new Uint8Array(16).fill(0x90) }),
  };
  const writer = createTraceWriter(path);
  const t = 1_700_000_000_000;
  writer.write({ t, kind: 'link', side: 'endpoint', event: 'connect', peer: 'unix:kd.sock' });
  writer.write({ t: t + 1, kind: 'packet', dir: 'debugger→guest', origin: 'forwarded', type: request.type, typeName: packetTypeName(request.type), length: request.payload.length, decoded: describeKdPacket(request) });
  writer.write({ t: t + 3.5, kind: 'packet', dir: 'guest→debugger', origin: 'forwarded', type: reply.type, typeName: packetTypeName(reply.type), length: reply.payload.length, decoded: describeKdPacket(reply) });
  writer.write({ t: t + 10, kind: 'target-gone', failedRequest: true });
  await writer.close();
}

describe('vmkd trace', () => {
  it('prints one readable line per record', async () => {
    const file = join(dir, 'route.jsonl');
    await writeTrace(file);
    const run = await runInProcess(['trace', file]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\s+0\.000000 {2}endpoint connect unix:kd\.sock$/);
    expect(lines[1]).toMatch(/0\.001000 {2}debugger→guest {2}KD_STATE_MANIPULATE {2}ReadVirtualMemory {2}addr=0xfffff80000400000 {2}count=16/);
    expect(lines[2]).toMatch(/0\.003500 {2}guest→debugger .*read=16 .*72 B/);
    expect(lines[3]).toMatch(/0\.010000 {2}target gone \(the pending request was failed\)/);
    expect(run.stderr).toMatch(/4 records over 0\.010 s/);
  });

  it('summarises with --json and skips malformed lines with a note', async () => {
    const file = join(dir, 'route.jsonl');
    await writeTrace(file);
    await writeFile(file, 'not json\n{"no":"kind"}\n', { flag: 'a' });
    const run = await runInProcess(['trace', file, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      file,
      records: 4,
      malformedLines: 2,
      durationSeconds: 0.01,
      kinds: { link: 1, packet: 2, 'target-gone': 1 },
      packetTypes: { KD_STATE_MANIPULATE: 2 },
    });
    expect(run.stderr).toMatch(/:5: skipped/);
    expect(run.stderr).toMatch(/:6: skipped \(not a trace record\)/);
  });

  it('skips and counts records that lack the fields their kind needs, and shows the rest', async () => {
    const file = join(dir, 'route.jsonl');
    await writeTrace(file);
    // Issue 16 item 2: these once crashed the whole file, or printed "undefined undefined".
    const bad = ['{"t":1,"kind":"packet"}', '{"t":1,"kind":"link"}', '{"t":"soon","kind":"route-closed"}', '[1,2]', '{"kind":"send-failed","dir":"x","typeName":"y"}'];
    await writeFile(file, `${bad.join('\n')}\n{"t":1700000000020,"kind":"route-closed"}\n`, { flag: 'a' });
    const run = await runInProcess(['trace', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/undefined/);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatch(/0\.020000 {2}route closed$/);
    expect(run.stderr).toMatch(/:5: skipped \(packet record without string "dir"\)/);
    expect(run.stderr).toMatch(/:6: skipped \(link record without string "side"\)/);
    expect(run.stderr).toMatch(/:7: skipped \(route-closed record with a non-number "t"\)/);
    expect(run.stderr).toMatch(/:8: skipped \(not a trace record\)/);
    expect(run.stderr).toMatch(/:9: skipped \(send-failed record without object "error"\)/);
    expect(run.stderr).toMatch(/5 records over 0\.020 s, 5 malformed lines skipped/);
    const json = await runInProcess(['trace', file, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ records: 5, malformedLines: 5 });
  });

  it('names the first malformed lines of a garbage file, counts the rest, and fails (exit 1)', async () => {
    const file = join(dir, 'garbage.jsonl');
    await writeFile(file, Array.from({ length: 500 }, (_, i) => `{"t":${i},"kind":"packet","dir":7}`).join('\n'));
    const run = await runInProcess(['trace', file]);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n').filter((l) => l.includes('skipped (')).length).toBe(20);
    expect(run.stderr).toMatch(/0 records over 0\.000 s, 500 malformed lines skipped/);
  });

  it('fails with ERR_CLI_BAD_FILE for a missing file', async () => {
    const run = await runInProcess(['trace', join(dir, 'nope.jsonl'), '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'ERR_CLI_BAD_FILE' } });
  });

  it('exits 2 without a file argument', async () => {
    const run = await runInProcess(['trace']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/missing required argument 'file'/);
  });

  describe('vmkd route --trace with a path that cannot be written', () => {
    // Issue 16 item 3: the route used to start, say "tracing to …", and drop every record.
    it('fails before opening anything: a missing directory, a directory, and with --relay', async () => {
      const { existsSync } = await import('node:fs');
      const socket = join(dir, 'kd.sock');
      for (const [trace, cause] of [
        [join(dir, 'missing', 't.jsonl'), /caused by: ENOENT/],
        [dir, /caused by: EISDIR/],
      ] as const) {
        const run = await runInProcess(['route', 'sim://?baud=0', `unix:${socket}`, '--trace', trace]);
        expect(run.code, trace).toBe(1);
        expect(run.stderr).toMatch(new RegExp(`^error ERR_ROUTER_TRACE_WRITE: cannot open trace file ${trace.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
        expect(run.stderr).toMatch(cause);
        expect(run.stderr).not.toMatch(/tracing to/);
        expect(run.stdout).toBe('');
        expect(existsSync(socket)).toBe(false);
      }
      const relay = await runInProcess(['route', 'serial+unix:guest.sock', `unix:${socket}`, '--relay', '--trace', dir, '--json']);
      expect(relay.code).toBe(1);
      expect(JSON.parse(relay.stdout)).toMatchObject({ error: { code: 'ERR_ROUTER_TRACE_WRITE', details: { path: dir } } });
      expect(existsSync(socket)).toBe(false);
    });
  });

  describe('--kdcom', () => {
    const KD_DECODE = fileURLToPath(new URL('../../kd-protocol/src/cli/kd-decode.ts', import.meta.url));
    const read = { type: KdPacketType.StateManipulate, payload: encodeManipulate(createManipulate(KdApi.ReadVirtualMemory, { targetBaseAddress: 0xfffff80000400000n, transferCount: 16 })) };
    const reply = {
      type: KdPacketType.StateManipulate,
      payload: encodeManipulate({ ...createManipulate(KdApi.ReadVirtualMemory, { targetBaseAddress: 0xfffff80000400000n, transferCount: 16, actualBytesRead: 16 }), data: new Uint8Array(16).fill(0x90) }),
    };
    const packetRecord = (t: number, dir: string, packet: typeof read, bytes: Uint8Array | undefined) => ({
      t,
      kind: 'packet',
      dir,
      origin: 'forwarded',
      type: packet.type,
      typeName: packetTypeName(packet.type),
      length: packet.payload.length,
      decoded: describeKdPacket(packet),
      ...(bytes === undefined ? {} : { bytes: Buffer.from(bytes).toString('hex') }),
    });

    /** `vmkd trace --kdcom FILE | kd-decode`, both real processes from sources. */
    async function decodeThroughPipe(file: string) {
      const kdDecode = `'${process.execPath}' --import tsx --conditions=@vmkd/source --input-type=module -e "const { main } = await import('${KD_DECODE}'); await main();"`;
      const vmkd = `'${process.execPath}' --import tsx --conditions=@vmkd/source '${CLI_SOURCE}'`;
      const child = spawn('bash', ['-c', `set -o pipefail; ${vmkd} trace --kdcom '${file}' | ${kdDecode}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      const run = await waitForExit(children.track(child), 60_000);
      return { ...run, events: run.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) };
    }

    // The two processes are joined by a shell pipeline, as a user would run them.
    const noShell = skipUnlessCapable('posix-shell');
    it.skipIf(noShell !== undefined)(titleWithSkip('re-emits a recorded session as KDCOM bytes that kd-decode reads back', noShell), { timeout: 70_000 }, async () => {
      const file = join(dir, 'bytes.jsonl');
      const writer = createTraceWriter(file);
      const t = 1_700_000_000_000;
      writer.write({ t, kind: 'link', side: 'endpoint', event: 'connect', peer: 'unix:kd.sock' });
      writer.write({ t, kind: 'link', side: 'endpoint', event: 'breakin' });
      writer.write({ t, kind: 'link', side: 'endpoint', event: 'reset' });
      // One record with the payload alone, one with the whole frame as the wire carried it.
      writer.write(packetRecord(t + 1, 'debugger→guest', read, read.payload));
      writer.write(packetRecord(t + 2, 'guest→debugger', reply, encodeDataFrame(reply.type, 0x80800001, reply.payload)));
      writer.write(packetRecord(t + 3, 'guest→debugger', reply, undefined));
      await writer.close();

      const run = await decodeThroughPipe(file);
      expect(run.code, run.stderr).toBe(0);
      const frames = run.events.filter((e) => e['event'] === 'frame');
      expect(run.events[0]).toMatchObject({ event: 'breakin', offset: 0 });
      expect(frames.map((f) => [f['typeName'], f['id']])).toEqual([
        ['KD_RESET', '0x00000000'],
        ['KD_STATE_MANIPULATE', '0x80800000'],
        ['KD_STATE_MANIPULATE', '0x80800001'],
      ]);
      expect(frames.slice(1).every((f) => f['checksumOk'] !== false)).toBe(true);
      expect(JSON.stringify(frames[1])).toMatch(/ReadVirtualMemory/);
      expect(run.events.at(-1)).toMatchObject({ event: 'end', dataFrames: 2, controlFrames: 1, badFrames: 0, garbageBytes: 0, breakins: 1 });
      expect(run.stderr).toMatch(/2 KDCOM frames, 1 break-ins, 1 resets from 6 records/);
      expect(run.stderr).toMatch(/1 packet records carry no raw bytes/);
    });

    it('refuses a trace with no raw bytes, and --kdcom with --json', async () => {
      const file = join(dir, 'route.jsonl');
      await writeTrace(file);
      const run = await runInProcess(['trace', '--kdcom', file, '--json']);
      expect(run.code).toBe(2);
      const plain = await runInProcess(['trace', '--kdcom', file]);
      expect(plain.code).toBe(1);
      expect(plain.stderr).toMatch(/ERR_CLI_BAD_FILE: no packet in .* carries its raw bytes/);
    });
  });
});
