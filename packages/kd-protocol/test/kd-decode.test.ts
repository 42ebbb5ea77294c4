import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runKdDecode } from '../src/cli/kd-decode.js';
import { encodeDataFrame } from '../src/index.js';
import { A1, A2, A3 } from './kdcom-vectors.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'kd-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], stdin: string | Uint8Array = '') {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runKdDecode(argv, { stdin: Readable.from([typeof stdin === 'string' ? Buffer.from(stdin) : Buffer.from(stdin)]), stdout, stderr });
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, lines, out, err };
}

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('kd-decode', () => {
  it('decodes the radare2 session bytes of Appendix A from hex text, with line breaks anywhere', async () => {
    const text = [A1.breakIn, A1.reset, A2[0].bytes, A1.ack80800000, A3[0].bytes].map(toHex).join('\n').replace(/ 38 00/, ' 3\n8 00');
    const { code, lines } = await run(['--hex'], text);
    expect(code).toBe(0);
    expect(lines.map((l) => l.event)).toEqual(['breakin', 'frame', 'frame', 'frame', 'frame', 'end']);
    expect(lines[1]).toMatchObject({ leader: 'control', typeName: 'KD_RESET', id: '0x00000000' });
    expect(lines[2]).toMatchObject({
      leader: 'data',
      typeName: 'KD_STATE_MANIPULATE',
      id: '0x80800000',
      byteCount: 56,
      checksum: '0x00000077',
      checksumOk: true,
      message: { api: 'GetVersion' },
    });
    expect(lines[3]).toMatchObject({ leader: 'control', typeName: 'KD_ACKNOWLEDGE', id: '0x80800000' });
    expect(lines[4]).toMatchObject({ id: '0x80800001', message: { api: 'GetVersion', fields: { kernBase: '0xfffff80000000000' } } });
    expect(lines[5]).toEqual({ event: 'end', bytes: 1 + 16 + 73 + 16 + 73, dataFrames: 2, controlFrames: 2, badFrames: 0, garbageBytes: 0, breakins: 1, resyncs: 0 });
  });

  it('reports garbage, resyncs, bad checksums and truncation as their own events (raw bytes from a file)', async () => {
    const bad = encodeDataFrame(3, 0x80800001, Uint8Array.of(1, 2, 3));
    bad[17] = 9;
    const file = join(dir, 'capture.bin');
    writeFileSync(file, Uint8Array.from([0x11, 0x22, ...bad, ...A2[1].bytes.subarray(0, 30)]));
    const { code, lines } = await run([file, '--raw']);
    expect(code).toBe(0);
    expect(lines.map((l) => l.event)).toEqual(['garbage', 'resync', 'bad-frame', 'bad-frame', 'end']);
    expect(lines[0]).toEqual({ event: 'garbage', offset: 0, count: 2 });
    expect(lines[3]).toMatchObject({ offset: 2 + bad.length });
    expect(lines[2]).toMatchObject({ reason: 'checksum', code: 'ERR_KDCOM_BAD_CHECKSUM', checksumOk: false, checksum: '0x00000006', actualChecksum: '0x0000000d' });
    expect(lines[3]).toMatchObject({ reason: 'truncated', code: 'ERR_KDCOM_TRUNCATED', received: 26 });
  });

  it('adds payloadHex with --raw and leaves out the message with --no-describe', async () => {
    const { lines } = await run(['--hex', '--raw', '--no-describe'], toHex(encodeDataFrame(3, 0x80800800, Uint8Array.of(0xde, 0xad))));
    expect(lines[0]).toEqual({
      event: 'frame',
      offset: 0,
      leader: 'data',
      type: 3,
      typeName: 'KD_DEBUG_IO',
      id: '0x80800800',
      sync: true,
      byteCount: 2,
      checksum: '0x0000018b',
      checksumOk: true,
      payloadHex: 'dead',
    });
  });

  it('exit codes: 1 for unreadable input or bad hex (with a JSON error line), 2 for bad usage, 0 for --help', async () => {
    const missing = await run([join(dir, 'nope.bin')]);
    expect(missing.code).toBe(1);
    expect(missing.lines.at(-1)).toMatchObject({ error: { code: 'ERR_KD_DECODE_READ' } });
    const badHex = await run(['--hex'], '62 zz');
    expect(badHex.code).toBe(1);
    expect(badHex.lines).toMatchObject([{ event: 'breakin', offset: 0 }, { error: { code: 'ERR_KD_DECODE_BAD_HEX', details: { offset: 3 } } }]);
    const odd = await run(['--hex'], '6');
    expect(odd.code).toBe(1);
    expect((await run(['--bogus'])).code).toBe(2);
    expect((await run(['a', 'b'])).code).toBe(2);
    expect((await run(['--arch', 'arm'])).code).toBe(2);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: kd-decode');
  });

  it('runs as a process: stdin in, JSON lines out, exit code set', () => {
    const script = "import('./src/cli/kd-decode.ts').then((m) => m.main(process.argv.slice(1)))";
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@vmkd/source', '--input-type=module', '-e', script, '--', '--hex'], {
      cwd: packageDir,
      input: '62 62 xx',
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.status).toBe(1);
    const out = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(out).toHaveLength(2);
    expect(out).toMatchObject([
      // A run of `b`s is one break-in request (issue 16: not one per byte).
      { event: 'breakin', offset: 0 },
      { error: { code: 'ERR_KD_DECODE_BAD_HEX', details: { offset: 6 } } },
    ]);
    expect(child.stderr).toContain('not a hex digit');
  });
});
