import { afterEach, describe, expect, it } from 'vitest';
import { createChildTracker, waitForExit } from './cli-harness.js';

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
    expect(out).toMatch(/Windows build 19041, AMD64, KD protocol 6/);
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
    expect(report.version.build).toBe(19041);
    expect(report.modules[0]?.name).toBe('ntoskrnl.exe');
    expect(report.processes[0]).toMatchObject({ pid: 4, name: 'System' });
    expect(report.throughput.reads.map((r) => [r.bytes, r.verified])).toEqual([
      [4096, true],
      [1024 * 1024, true],
    ]);
    expect(report.throughput.ratio).toBeGreaterThan(1);
  });
});
