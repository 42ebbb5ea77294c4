import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createChildTracker, waitForExit, waitForOutput } from './cli-harness.js';

const gdbMissing = (() => {
  const r = spawnSync('gdb', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.error !== undefined || r.status !== 0 ? 'gdb is not installed (CI installs the Debian package gdb)' : undefined;
})();

const children = createChildTracker();
afterEach(() => children.killAll());

function gdb(port: string, commands: readonly string[]): Promise<string> {
  const args = ['-batch', '-nx', '-ex', 'set architecture i386:x86-64', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  const child = children.track(spawn('gdb', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  return waitForExit(child, 120_000).then((r) => r.stdout + r.stderr);
}

describe.each(['sim://?via=serial&baud=0&cpus=2', 'sim://?via=kdrpc&cpus=2'])('vmkd route %s gdb://127.0.0.1:0', (guest) => {
  it.skipIf(gdbMissing !== undefined)(`prints the gdb, lldb, IDA and Ghidra settings, and real gdb debugs through it${gdbMissing ? ` (skipped: ${gdbMissing})` : ''}`, { timeout: 180_000 }, async () => {
    const child = children.spawnCli(['route', guest, 'gdb://127.0.0.1:0']);
    const attached = waitForOutput(child, 'stderr', /\[route\] gdb endpoint: RSP client tcp:\/\/127\.0\.0\.1:\d+ attached/, 120_000);
    attached.catch(() => undefined);
    // One wait for the whole block: the address line, then one line per client.
    const [lines, port] = await waitForOutput(child, 'stdout', /^gdb:\/\/127\.0\.0\.1:(\d+)\n(?:.*\n)*?Ghidra: .*\n/m, 30_000);
    expect(lines).toContain(`gdb -nx -ex 'set architecture i386:x86-64' -ex 'target remote 127.0.0.1:${port}'`);
    expect(lines).toContain(`lldb -o 'gdb-remote 127.0.0.1:${port}'`);
    expect(lines).toMatch(new RegExp(`IDA: .*hostname 127\\.0\\.0\\.1, port ${port}`));
    expect(lines).toContain(`target remote 127.0.0.1:${port}`);

    const out = await gdb(port, ['p/x $cr3', 'x/2xb 0xfffff80000000000', 'info threads', 'monitor version', 'detach']);
    expect(out).toMatch(/^\$1 = 0x[0-9a-f]+$/m);
    expect(out).toMatch(/^0xfffff80000000000:\s+0x4d\s+0x5a$/m);
    expect(out).toMatch(/^\s+2\s+Thread 2 \(CPU 1/m);
    expect(out).toMatch(/target: Windows free build 18362, machine 0x8664/);
    await attached;

    child.kill('SIGINT');
    const exit = await waitForExit(child, 30_000);
    expect(exit.code).toBe(0);
  });
});
