import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { runInProcess } from './cli-harness.js';

/*
 * The error paths a user meets (issue 16, items 6, 8 and 10): each says what is wrong once, in the
 * CLI's words, with advice that fits the case, and fails instead of retrying what no retry fixes.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-errors-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('vmkd route error wording', () => {
  it('a remote bind says --allow-remote, not the library option', async () => {
    const run = await runInProcess(['route', 'sim://', 'tcp://0.0.0.0:0']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ERR_SERIAL_REMOTE_BIND_REFUSED/);
    expect(run.stderr).toMatch(/--allow-remote/);
    expect(run.stderr).not.toMatch(/allowRemote/);
  });

  it('an out-of-range port is named, not "Invalid URL"', async () => {
    const run = await runInProcess(['route', 'sim://', 'tcp://127.0.0.1:99999']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/port 99999 is out of range/);
    expect(run.stderr).not.toMatch(/Invalid URL/);
  });

  it('a Unix socket in a missing directory names the directory, not a staging name', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const run = await runInProcess(['route', 'sim://', `unix:${join(dir, 'nope', 'kd.sock')}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`the directory ${join(dir, 'nope').replaceAll('/', '\\/')} does not exist`));
    expect(run.stderr).not.toMatch(/\.vmkd-/);
  });

  it('a Unix socket path taken by a plain file gets Unix advice, never "port 0"', async () => {
    const path = join(dir, 'kd.sock');
    await writeFile(path, 'not a socket');
    const run = await runInProcess(['route', 'sim://', `unix:${path}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ERR_SERIAL_ADDRESS_IN_USE/);
    expect(run.stderr).toMatch(/pick another path/);
    expect(run.stderr).not.toMatch(/port 0/);
  });

  it('a missing serial device fails at once, saying why once, instead of retrying for ever', async ({ skip }) => {
    const missing = skipUnlessCapable('dev-paths');
    skip(missing !== undefined, missing);
    const started = performance.now();
    const run = await runInProcess(['route', 'serial:///dev/vmkd-nonexistent', 'tcp://127.0.0.1:0']);
    expect(run.code).toBe(1);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(run.stderr).toMatch(/serial:\/dev\/vmkd-nonexistent: cannot open \(No such file or directory\)/);
    expect(run.stderr.match(/No such file or directory/g)).toHaveLength(1);
    expect(run.stderr).not.toMatch(/retrying/);
  });

  it('vmkd sim --connect to a missing device fails the same way', async ({ skip }) => {
    const missing = skipUnlessCapable('dev-paths');
    skip(missing !== undefined, missing);
    const run = await runInProcess(['sim', '--connect', 'serial:///dev/vmkd-nonexistent']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ERR_SERIAL_CONNECT_FAILED/);
    expect(run.stderr).not.toMatch(/retrying/);
  });
});

describe.runIf(process.platform !== 'win32')('Windows pipe schemes elsewhere', () => {
  it('kdrpc+proxypipe:// is refused like pipe:, and leaves no oddly named socket behind', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const run = await runInProcess(['route', 'kdrpc+proxypipe://./pipe/kdvmware_proxypipe', 'tcp://127.0.0.1:0']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/ERR_SERIAL_UNSUPPORTED_PLATFORM/);
      expect(await readdir(dir)).toEqual([]);
      expect(existsSync(join(dir, '\\\\.\\pipe\\kdvmware_proxypipe'))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });
});
