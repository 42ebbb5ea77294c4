import { afterEach, describe, expect, it } from 'vitest';
import { hasCapabilities, skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { createChildTracker, runInProcess, waitForExit } from './cli-harness.js';

const children = createChildTracker();
afterEach(() => children.killAll());

describe('vmkd basics', () => {
  it('prints help on stdout and exits 0', async () => {
    const run = await runInProcess(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: vmkd/);
    expect(run.stdout).toMatch(/doctor/);
    expect(run.stdout).toMatch(/Exit status: 0 success, 1 failure, 2 usage error/);
    expect(run.stderr).toBe('');
  });

  it('has --help on every command', async () => {
    const top = await runInProcess(['--help']);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) {
      const run = await runInProcess([command, '--help']);
      expect(run.code, command).toBe(0);
      expect(run.stdout, command).toMatch(new RegExp(`^Usage: vmkd ${command}`));
      expect(run.stdout, command).toMatch(/--json/);
    }
  });

  it('prints the version', async () => {
    const run = await runInProcess(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 with usage text for an unknown command, and no stdout', async () => {
    const run = await runInProcess(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('exits 2 for an unknown option', async () => {
    const run = await runInProcess(['doctor', '--frob']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown option '--frob'/);
  });

  it('exits 2 without a command', async () => {
    const run = await runInProcess([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Usage: vmkd/);
    expect(run.stderr).toMatch(/^error ERR_CLI_USAGE: missing command$/m);
    expect(JSON.parse((await runInProcess(['--json'])).stdout)).toEqual({ error: { code: 'ERR_CLI_USAGE', message: 'missing command' } });
  });

  it("gives commander's own errors the ERR_ code in plain mode too", async () => {
    const cases: [string[], RegExp][] = [
      [['doctor', '--frob'], /^error ERR_CLI_USAGE: unknown option '--frob'$/m],
      [['trace'], /^error ERR_CLI_USAGE: missing required argument 'file'$/m],
      [['sim', '--listen', 'unix:a.sock', '--cpus', '0'], /^error ERR_CLI_USAGE: option '--cpus <n>' argument '0' is invalid\. --cpus=0 is out of range \(1\.\.64\)$/m],
      [['frobnicate'], /^error ERR_CLI_USAGE: unknown command 'frobnicate'$/m],
    ];
    for (const [argv, pattern] of cases) {
      const run = await runInProcess(argv);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.stderr, argv.join(' ')).toMatch(pattern);
      expect(run.stderr, argv.join(' ')).toMatch(/\(add --help for usage\)/);
      expect(run.stderr, argv.join(' ')).not.toMatch(/^error: /m);
    }
  });

  it('names the cells when bench --only matches none (ERR_BENCH_BAD_OPTION, exit 2, before any work)', async () => {
    const run = await runInProcess(['bench', '--only', 'bogus']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error ERR_BENCH_BAD_OPTION: --only bogus: no cell matches\. Cells: serial-paced\/direct, .*serial-unix\/direct, .*kdrpc-vmx\/routed-tcp/m);
    expect(run.stderr).toMatch(/Or a guest kind \(serial-paced, serial-unix, .*kdnet\), an endpoint kind \(direct, .*routed-kdnet, routed-gdb\) or a run workload \(dump, recovery, radare2/);
    const json = await runInProcess(['bench', '--quick', '--only', 'bogus,nope', '--json']);
    expect(json.code).toBe(2);
    const error = (JSON.parse(json.stdout) as { error: { code: string; details: { only: string[]; cells: string[] } } }).error;
    expect(error.code).toBe('ERR_BENCH_BAD_OPTION');
    expect(error.details.only).toEqual(['bogus', 'nope']);
    expect(error.details.cells).toContain('serial-unix/direct');
  });

  it('gives usage errors the JSON error shape with --json', async () => {
    const run = await runInProcess(['doctor', '--frob', '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'ERR_CLI_USAGE', message: "unknown option '--frob'" } });
  });

  it('runs doctor --json in a real process: one JSON document with checks and schemes', async () => {
    const run = await waitForExit(children.spawnCli(['doctor', '--json']), 20_000);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      platform: string;
      node: string;
      checks: { id: string; ok: boolean; detail: string }[];
      schemes: { scheme: string; available: boolean; needs: string }[];
    };
    expect(report.platform).toBe(process.platform);
    expect(report.node).toBe(process.version);
    const ids = report.checks.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['node', 'koffi', 'serialport', 'vmware', 'socat']));
    expect(report.checks.find((c) => c.id === 'node')?.ok).toBe(true);
    // doctor's verdict on socat matches whether it is really there (a developer may not have it).
    expect(report.checks.find((c) => c.id === 'socat')?.ok).toBe(hasCapabilities('socat'));
    expect(report.schemes.map((s) => s.scheme)).toEqual(expect.arrayContaining(['serial+tcp:', 'sim://?via=kdrpc', 'tcp:']));
    expect(report.schemes.find((s) => s.scheme === 'tcp:')?.available).toBe(true);
  });

  it('delegates vmkd bench to @vmkd/bench (one cell, --json)', { timeout: 60_000 }, async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const run = await runInProcess(['bench', '--quick', '--only', 'serial-unix/direct', '--read-mib', '1', '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { schema: string; cells: { id: string; status: string; verified: boolean }[] };
    expect(result.schema).toBe('vmkd-bench/1');
    expect(result.cells).toHaveLength(1);
    expect(result.cells[0]).toMatchObject({ id: 'serial-unix/direct', status: 'ok', verified: true });
  });

  it('reports a bad bench option as a usage error', async () => {
    const run = await runInProcess(['bench', '--read-mib', 'lots']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--read-mib="lots" is not a whole number/);
  });

  it('rejects a bad guest URI before opening anything (exit 2, ERR_CLI_BAD_URI naming the problem)', async () => {
    const run = await runInProcess(['route', 'sim://?via=usb', 'tcp://127.0.0.1:0', '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        code: 'ERR_CLI_BAD_URI',
        message: 'bad URI "sim://?via=usb": via="usb" is not one of serial, kdrpc, kdnet',
        details: { uri: 'sim://?via=usb', reason: 'via="usb" is not one of serial, kdrpc, kdnet' },
      },
    });
    const endpoint = await runInProcess(['route', 'sim://', 'serial+tcp://127.0.0.1:1']);
    expect(endpoint.code).toBe(2);
    expect(endpoint.stderr).toMatch(/unknown endpoint scheme "serial\+tcp:"/);
  });

  it('refuses a non-loopback endpoint without --allow-remote (exit 1, with the flag to use)', async () => {
    const run = await runInProcess(['route', 'sim://?baud=0', 'tcp://0.0.0.0:0', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'ERR_SERIAL_REMOTE_BIND_REFUSED' } });
    expect(run.stderr).toMatch(/add --allow-remote/);
  });

  it('checks vmkd sim options as usage errors', async () => {
    expect((await runInProcess(['sim'])).code).toBe(2);
    expect((await runInProcess(['sim', '--listen', 'unix:a.sock', '--connect', 'tcp://127.0.0.1:1'])).stderr).toMatch(/exactly one of --listen/);
    const build = await runInProcess(['sim', '--listen', 'unix:a.sock', '--build', 'win95']);
    expect(build.code).toBe(2);
    expect(build.stderr).toMatch(/--build win95 is not one of win7, win10, win7-sp1-x64/);
    const memory = await runInProcess(['sim', '--listen', 'unix:a.sock', '--memory', '1M']);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(/--memory=1M is out of range \(32M\.\.256G\)/);
  });
});
