import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { CLI_SOURCE, createChildTracker, waitForExit } from './cli-harness.js';

// Issue 16 item 1: `vmkd … | head` must end the command cleanly (exit 0, no stack trace) and leave
// nothing behind. These run the real CLI process into a real `head` through bash, as a user does.
const children = createChildTracker();
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-closed-'));
});
afterEach(async () => {
  await children.killAll();
  await rm(dir, { recursive: true, force: true });
});

const VMKD = `'${process.execPath}' --import tsx --conditions=@vmkd/source '${CLI_SOURCE}'`;

/** Runs `vmkd <args> | head -<lines>` in bash; resolves with vmkd's own exit status and head's output. */
function throughHead(args: string, lines: number) {
  const child = spawn('bash', ['-c', `${VMKD} ${args} | head -${lines}; exit "\${PIPESTATUS[0]}"`], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return waitForExit(children.track(child), 110_000);
}

describe('a closed stdout is the end of output', () => {
  it('vmkd trace big.jsonl | head -2: two lines, exit 0, no stack trace', { timeout: 60_000 }, async ({ skip }) => {
    const missing = skipUnlessCapable('posix-shell');
    skip(missing !== undefined, missing);
    const file = join(dir, 'big.jsonl');
    const lines = Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ t: 1_700_000_000_000 + i, kind: 'link', side: 'guest', event: 'connect' }));
    await writeFile(file, `${lines.join('\n')}\n`);
    const run = await throughHead(`trace '${file}'`, 2);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(run.code).toBe(0);
  });

  it('vmkd demo | head -4: exit 0 and its temporary directory is gone', { timeout: 120_000 }, async ({ skip }) => {
    const missing = skipUnlessCapable('posix-shell');
    skip(missing !== undefined, missing);
    const run = await throughHead('demo', 4);
    expect(run.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(run.code).toBe(0);
    // The fourth line names the route's socket inside the demo's temporary directory.
    const socket = /→ router → unix:(\S+\/kd-serial\.sock)/.exec(run.stdout)?.[1];
    expect(socket, run.stdout).toBeDefined();
    expect(existsSync(join(socket!, '..'))).toBe(false);
  });

  it('vmkd route with stdout already closed stops cleanly and removes its socket', { timeout: 60_000 }, async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const socket = join(dir, 'kd.sock');
    const child = children.spawnCli(['route', 'sim://?baud=0', `unix:${socket}`]);
    // The reader is gone before the route prints its address: its first write fails with EPIPE.
    child.stdout!.destroy();
    const run = await waitForExit(child, 50_000);
    expect(run.stderr).toMatch(/route stats after/);
    expect(run.stderr).not.toMatch(/EPIPE|Error/);
    expect(run.code).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });

  it('every short command survives a reader that is already gone', { timeout: 90_000 }, async () => {
    const file = join(dir, 'one.jsonl');
    await writeFile(file, '{"t":1,"kind":"route-closed"}\n');
    for (const args of [['--help'], ['doctor'], ['trace', file], ['trace', file, '--json'], ['bench', '--only', 'bogus', '--json'], ['frobnicate', '--json']]) {
      const child = children.spawnCli(args);
      child.stdout!.destroy();
      const run = await waitForExit(child, 30_000);
      expect(run.stderr, args.join(' ')).not.toMatch(/EPIPE|Unhandled|at .*\.js/);
      expect(run.code, args.join(' ')).toBe(args.includes('bogus') || args.includes('frobnicate') ? 2 : 0);
    }
  });
});
