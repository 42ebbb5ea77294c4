import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManipulate, describeKdPacket, encodeManipulate, KdApi, KdPacketType, packetTypeName } from '@vmkd/kd-protocol';
import { createTraceWriter } from '@vmkd/router';
import { runInProcess } from './cli-harness.js';

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
});
