import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createDebuggerSession, KdPacketType } from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTargetOverKdnet } from '../src/index.js';
import { createPcapRecorder, readCapture, runKdnetDecode } from '../src/capture/index.js';
import { LIBKDNET_KEY, hex, libKdnet } from './fixtures/libkdnet.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-kdnet-pcap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function decode(args: string[]): Promise<{ code: number; lines: Record<string, unknown>[]; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runKdnetDecode(args, { stdout, stderr });
  return { code, lines: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), stderr: err };
}

/** A real loopback session (the virtual kernel over KDNET) recorded datagram by datagram. */
async function recordSession(host = '127.0.0.1'): Promise<{ pcap: Uint8Array; key: string; datagrams: number }> {
  const sim = createSimTarget({ cpus: 1, printIntervalMs: 0 });
  const recorder = createPcapRecorder();
  let datagrams = 0;
  const pair = await openTargetOverKdnet(sim, {
    host,
    pokeIntervalMs: 200,
    tap: (bytes, from, to, direction) => {
      datagrams += 1;
      // The guest's socket is bound to the loopback address, so both ends are concrete.
      recorder.record(bytes, direction === 'in' ? from : from, to);
    },
  });
  try {
    const session = createDebuggerSession(pair.link, { timeoutMs: 8000 });
    await session.attach({ timeoutMs: 8000 });
    await session.getVersion();
    await session.readVirtual(sim.layout.dataRegion.virtualBase, 8192);
    await session.close();
  } finally {
    await pair.close();
    sim.close();
  }
  return { pcap: recorder.toBytes(), key: pair.key, datagrams };
}

describe('kd-decode --kdnet-key: decrypting a captured KDNET session', () => {
  it.each(['127.0.0.1', '::1'])('a pcap of a real loopback session over %s, plain and gzipped: every datagram decoded, the KD traffic named', async (host) => {
    const { pcap, key, datagrams } = await recordSession(host);
    const file = join(dir, 'session.pcap');
    await writeFile(file, pcap);
    await writeFile(`${file}.gz`, gzipSync(pcap));
    for (const path of [file, `${file}.gz`]) {
      const { code, lines } = await decode(['--kdnet-key', key, path]);
      expect(code).toBe(0);
      const end = lines.at(-1)!;
      expect(end).toMatchObject({ event: 'end', kdnet: datagrams, authenticated: datagrams, unauthenticated: 0, sessions: 1 });
      expect(lines.filter((l) => l.event === 'unauthenticated')).toEqual([]);
      const events = lines.map((l) => l.event);
      expect(events.indexOf('poke')).toBeLessThan(events.indexOf('response'));
      expect(events).toContain('conncheck');
      const frames = lines.filter((l) => l.event === 'frame' && l.leader === 'data');
      expect(frames.some((l) => l.typeName === 'KD_STATE_CHANGE64' && l.direction === 'target→debugger')).toBe(true);
      const requests = frames.filter((l) => l.direction === 'debugger→target' && l.type === KdPacketType.StateManipulate);
      expect(requests.map((l) => (l.message as { api?: string }).api)).toEqual(expect.arrayContaining(['GetVersion', 'ReadVirtualMemory']));
      for (const l of frames) expect(l).toMatchObject({ channel: 'data', checksumOk: true, sequence: expect.any(Number) as number });
    }
  });

  it("kd-protocol's kd-decode delegates --kdnet-key to this package (a real child process)", async () => {
    const { pcap, key, datagrams } = await recordSession();
    const file = join(dir, 'session.pcap');
    await writeFile(file, pcap);
    // A file: URL, not a path: import() of `C:\…` on Windows reads the drive letter as a URL scheme.
    const kdDecode = new URL('../../kd-protocol/src/cli/kd-decode.ts', import.meta.url).href;
    const script = `const { main } = await import(${JSON.stringify(kdDecode)}); await main(process.argv.slice(1));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@vmkd/source', '--input-type=module', '-e', script, '--', '--kdnet-key', key, file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const lines = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ event: 'end', authenticated: datagrams, unauthenticated: 0 });
  });

  it('the wrong key: one unauthenticated line per KDNET datagram, nothing decoded', async () => {
    const { pcap, datagrams } = await recordSession();
    const file = join(dir, 'session.pcap');
    await writeFile(file, pcap);
    const { code, lines } = await decode(['--kdnet-key', '9.9.9.9', file]);
    expect(code).toBe(0);
    expect(lines.filter((l) => l.event === 'unauthenticated')).toHaveLength(datagrams);
    expect(lines.at(-1)).toMatchObject({ authenticated: 0, unauthenticated: datagrams });
  });

  it('the libKDNET capture of a real WinDbg session, wrapped in a pcap: the data key is found and GetVersion decoded', async () => {
    const recorder = createPcapRecorder();
    const target = { address: '192.168.0.11', port: 50000 };
    const host = { address: '192.168.0.13', port: 50000 };
    for (const name of ['poke', 'pokeResp', 'conncheck', 'conncheckResp', 'breakData', 'waitState', 'getVersionApiReq', 'getVersionApiResp'] as const) {
      const bytes = hex(libKdnet[name]);
      // The direction bit inside says who sent it; the decoder must not need the addresses right.
      const towardTarget = ['pokeResp', 'conncheckResp', 'breakData', 'getVersionApiReq'].includes(name);
      recorder.record(bytes, towardTarget ? host : target, towardTarget ? target : host, 1_600_000_000_000_000);
    }
    const file = join(dir, 'libkdnet.pcap');
    await writeFile(file, recorder.toBytes());
    const { lines } = await decode(['--kdnet-key', LIBKDNET_KEY, file]);
    expect(lines.map((l) => l.event)).toEqual(['poke', 'response', 'conncheck', 'frame', 'breakin', 'frame', 'frame', 'frame', 'end']);
    const getVersion = lines.find((l) => l.direction === 'target→debugger' && l.type === KdPacketType.StateManipulate);
    expect(getVersion).toMatchObject({ id: '0x00000928', sequence: 7 });
    expect((getVersion?.message as { api?: string }).api).toBe('GetVersion');
  });

  it('bad captures and bad keys are clear errors with codes, not crashes', async () => {
    const junk = join(dir, 'junk.pcap');
    await writeFile(junk, Buffer.from('not a capture at all'));
    const bad = await decode(['--kdnet-key', '1.1.1.1', junk]);
    expect(bad.code).toBe(1);
    expect(bad.lines[0]).toMatchObject({ error: { code: 'ERR_KDNET_BAD_CAPTURE' } });
    const cut = join(dir, 'cut.pcap');
    const { pcap } = await recordSession();
    await writeFile(cut, pcap.subarray(0, pcap.length - 5));
    expect((await decode(['--kdnet-key', '1.1.1.1', cut])).lines[0]).toMatchObject({ error: { code: 'ERR_KDNET_BAD_CAPTURE' } });
    const key = await decode(['--kdnet-key', '1.1.1', junk]);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(/four dot-separated parts/);
    expect(() => readCapture(new Uint8Array([1, 2]))).toThrow(/too short/);
  });
});
