import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { createChildTracker, waitForExit, waitForOutput } from './cli-harness.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILT = existsSync(new URL('../dist/cli.js', import.meta.url));

const children = createChildTracker();
afterEach(() => children.killAll());

describe('vmkd demo', () => {
  // The newcomer's first experience: run it the way they do, as a process, to the end.
  it('runs to completion and shows every section', { timeout: 120_000 }, async () => {
    const run = await waitForExit(children.spawnCli(['demo']), 110_000);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/debugger {2}vmkd's DebuggerSession over KDCOM, attached in \d+ ms/);
    expect(out).toMatch(/Windows build 18362, AMD64, KD protocol 6/);
    expect(out).toMatch(/tag KDBG/);
    expect(out).toMatch(/Modules .*\n {2}fffff800`00000000 {2}0x[0-9a-f]{8} {2}ntoskrnl\.exe/);
    expect(out).toMatch(/\n +4 +0 {2}[0-9a-f]{8}`[0-9a-f]{8} {2}System\n/);
    expect(out).toMatch(/ {2}KDBG/); // the hexdump shows the owner tag
    expect(out).toMatch(/breakpoint hit at .* on CPU 0 after \d+ ms; bc 1/);
    const serial = /serial, 115,200 bit\/s \(KDCOM\) +16 KiB +([\d.]+) s/.exec(out);
    const fast = /accelerated, KDRPC over GuestRPC +16 MiB +([\d.]+) s/.exec(out);
    expect(serial).not.toBeNull();
    expect(fast).not.toBeNull();
    // A 16 KiB read at 115,200 bit/s cannot beat the line: at least 16,384 × 10 bits of data alone.
    expect(Number(serial![1])).toBeGreaterThanOrEqual((16_384 * 10) / 115_200 - 0.01);
    expect(out).toMatch(/the accelerated path read [\d,]+× faster/);
    // `vmkd` when it is on the PATH (npm scripts and npx put node_modules/.bin there), else `npx vmkd`.
    expect(out).toMatch(/\nNext: (npx )?vmkd route sim:\/\/ tcp:\/\/127\.0\.0\.1:9999 {3}then {3}windbg -k com:ipport=9999,port=127\.0\.0\.1\n/);
  });

  it("closes with a Next: command that runs as printed in a clone", { timeout: 60_000 }, async ({ skip }) => {
    const missing = skipUnlessCapable('posix-shell', 'signals');
    skip(missing !== undefined, missing);
    skip(!BUILT, 'packages/cli is not built (npm test builds first): npx runs the built bin');
    // A shell in a fresh clone: no node_modules/.bin on the PATH, nothing linked.
    const PATH = (process.env['PATH'] ?? '').split(delimiter).filter((dir) => !dir.includes('node_modules')).join(delimiter);
    const env = { ...process.env, PATH };
    const run = await waitForExit(children.spawnCli(['demo', '--json', '--serial-kib', '1', '--accelerated-mib', '1'], undefined, env), 50_000);
    const next = (JSON.parse(run.stdout) as { next: string }).next;
    expect(next).toBe('npx vmkd route sim:// tcp://127.0.0.1:9999');
    // Exactly as printed, through a shell, from the clone's root; its own process group to stop it.
    const child = children.track(spawn('bash', ['-c', `exec ${next} 2>&1`], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'ignore'] }));
    // Another program may hold port 9999: then the command still ran, parsed and tried to listen.
    const [seen] = await waitForOutput(child, 'stdout', /^tcp:\/\/127\.0\.0\.1:9999$|ERR_SERIAL_ADDRESS_IN_USE/m, 45_000);
    const outcome = seen.startsWith('tcp:') ? 'routing' : 'port busy';
    expect(['routing', 'port busy']).toContain(outcome);
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    // npx itself dies of the SIGTERM; the route under it shuts down cleanly.
    const exit = await waitForExit(child, 20_000);
    if (outcome === 'routing') expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    else expect(exit.code).toBe(1);
  });

  it('prints one JSON document with --json', { timeout: 120_000 }, async () => {
    const run = await waitForExit(children.spawnCli(['demo', '--json', '--serial-kib', '4', '--accelerated-mib', '1']), 110_000);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      version: { build: number };
      modules: { name: string }[];
      processes: { pid: number; name: string }[];
      breakpoint: { handle: number };
      throughput: { reads: { bytes: number; verified: boolean }[]; ratio: number };
    };
    expect(report.version.build).toBe(18362);
    expect(report.modules[0]?.name).toBe('ntoskrnl.exe');
    expect(report.processes[0]).toMatchObject({ pid: 4, name: 'System' });
    expect(report.throughput.reads.map((r) => [r.bytes, r.verified])).toEqual([
      [4096, true],
      [1024 * 1024, true],
    ]);
    expect(report.throughput.ratio).toBeGreaterThan(1);
  });
});
