import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GlobalOffset, fillExpected } from '@vmkd/sim-target';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clientUnavailable, runLldb } from './clients.js';
import { openSimRoute, type GuestVia, type SimRoute } from './sim-route.js';

// Real gdb/lldb through a route on a loaded machine: the time the gdb endpoint's own tests had.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const lldbMissing = clientUnavailable('lldb');
const MIB = 1024 * 1024;

/** `name = 0x…` as lldb's `register read` prints it. */
function lldbRegister(output: string, name: string): bigint {
  const m = new RegExp(`^\\s*${name} = (0x[0-9a-f]+)`, 'm').exec(output);
  if (m === null) throw new Error(`no ${name} in lldb output:\n${output}`);
  return BigInt(m[1]);
}

describe.each<GuestVia>(['serial', 'kdrpc'])('real lldb (gdb-remote) through a route over %s to the virtual kernel', (via) => {
  let r: SimRoute;
  let port: number;

  beforeAll(async () => {
    if (lldbMissing !== undefined) return;
    r = await openSimRoute(via, { cpus: 2 });
    port = r.endpoint.port;
  });
  afterAll(async () => {
    await r?.close();
  });

  it.skipIf(lldbMissing !== undefined)(`registers (cr3, dr7 included), the MZ header and both CPUs as threads${lldbMissing ? ` (skipped: ${lldbMissing})` : ''}`, async () => {
    const kernBase = r.sim.layout.kernBase;
    const { output } = await runLldb(port, ['register read rip cr3 dr7', `memory read --size 1 --count 32 --format x 0x${kernBase.toString(16)}`, 'thread list', 'process kill']);
    const special = await r.endpoint.session.getSpecialRegisters(0);
    expect(lldbRegister(output, 'cr3')).toBe(special.cr3);
    expect(lldbRegister(output, 'dr7')).toBe(special.kernelDr7);
    expect(output).toMatch(new RegExp(`^0x${kernBase.toString(16)}: 0x4d 0x5a 0x90 0x00`, 'm'));
    expect(output).toMatch(/thread #1: tid = 0x0001/);
    expect(output).toMatch(/thread #2: tid = 0x0002/);
  });

  it.skipIf(lldbMissing !== undefined)('hardware breakpoint (breakpoint set -H) and write and read watchpoints stop where the kernel executes and accesses', async () => {
    const counter = r.sim.layout.globals + BigInt(GlobalOffset.IdleLoopCount);
    const tick = r.sim.layout.kuserSharedData + 0x320n;
    const inc = r.sim.layout.idleLoopJump - 17n;
    const h = (v: bigint): string => `0x${v.toString(16)}`;
    const { output } = await runLldb(port, [
      `breakpoint set -H -a ${h(inc)}`,
      'continue',
      'register read rip',
      'breakpoint delete --force',
      `watchpoint set expression -w write -s 8 -- ${h(counter)}`,
      'continue',
      'register read rip',
      'watchpoint delete --force',
      `watchpoint set expression -w read -s 4 -- ${h(tick)}`,
      'continue',
      'register read rip',
      'watchpoint delete --force',
      'detach',
    ]);
    expect(output).toMatch(/stop reason = breakpoint 1\.1/);
    expect(output).toMatch(/Watchpoint 1 hit:\nold value: (\d+)\nnew value: (\d+)/);
    expect(output).toMatch(/stop reason = watchpoint 1/);
    expect(output).toMatch(/stop reason = watchpoint 2/);
    const rips = [...output.matchAll(/^\s*rip = (0x[0-9a-f]+)/gm)].map((m) => BigInt(m[1]));
    expect(rips).toEqual([inc, inc + 7n, inc + 17n]);
    expect(r.endpoint.session.armedDr7).toBe(0x400n);
  });

  it.skipIf(lldbMissing !== undefined)('breakpoint, continue, step-inst; monitor lm through `process plugin packet monitor`', async () => {
    const at = r.sim.layout.idleLoopStart + 0x200n;
    const { output } = await runLldb(port, [
      `breakpoint set --address 0x${at.toString(16)}`,
      'continue',
      'register read rip',
      'thread step-inst',
      'register read rip',
      'process plugin packet monitor lm',
      'breakpoint delete --force',
      'detach',
    ]);
    expect(output).toMatch(/stop reason = breakpoint 1\.1/);
    const rips = [...output.matchAll(/^\s*rip = (0x[0-9a-f]+)/gm)].map((m) => BigInt(m[1]));
    expect(rips).toEqual([at, at + 1n]);
    // lldb reads memory while its breakpoint is planted: the endpoint shows the original byte.
    expect(output).toMatch(new RegExp(`-> +0x${at.toString(16)}: nop`));
    expect(output).toMatch(/^fffff80000000000 +fffff80000800000 +ntoskrnl\.exe$/m);
    expect(output).toMatch(/hal\.dll$/m);
  });

  it.skipIf(lldbMissing !== undefined)("reads memory with lldb's binary x packet; memory that looks like OK, E12 or + comes back as data", async () => {
    const odd = r.sim.layout.dataRegion.virtualBase + 0x200000n + (via === 'kdrpc' ? 0x1000n : 0n);
    const h = (v: bigint): string => `0x${v.toString(16)}`;
    const original = [...fillExpected(odd, new Uint8Array(6))].map((b) => `0x${b.toString(16)}`);
    const log = join(tmpdir(), `vmkd-lldb-packets-${process.pid}-${via}.log`);
    try {
      const { output } = await runLldb(port, [
        // Each read goes to the stub as asked, not through lldb's 512-byte cache lines.
        'settings set target.process.disable-memory-cache true',
        `memory write --size 1 ${h(odd)} 0x45 0x31 0x32 0x4f 0x4b 0x2b`,
        `memory read --size 1 --count 3 --format x ${h(odd)}`,
        `memory read --size 1 --count 2 --format x ${h(odd + 3n)}`,
        `memory read --size 1 --count 1 --format x ${h(odd + 5n)}`,
        `memory write --size 1 ${h(odd)} ${original.join(' ')}`,
        `memory read --size 1 --count 6 --format x ${h(odd)}`,
        'detach',
      ], undefined, [`log enable -f ${log} gdb-remote packets`]);
      expect(output).toMatch(new RegExp(`^${h(odd)}: 0x45 0x31 0x32$`, 'm'));
      expect(output).toMatch(new RegExp(`^${h(odd + 3n)}: 0x4f 0x4b$`, 'm'));
      expect(output).toMatch(new RegExp(`^${h(odd + 5n)}: 0x2b$`, 'm'));
      expect(output).toMatch(new RegExp(`^${h(odd)}: ${original.map((b) => `0x${b.slice(2).padStart(2, '0')}`).join(' ')}$`, 'm'));
      const packets = await readFile(log, 'latin1');
      // lldb's probe, answered OK, then its reads as x packets.
      expect(packets).toMatch(/send packet: \$x0,0#/);
      expect(packets).toMatch(/read packet: \$OK#9a/);
      expect(packets).toMatch(new RegExp(`send packet: \\$x${odd.toString(16)},3#`));
      expect(packets).not.toMatch(new RegExp(`send packet: \\$m${odd.toString(16)},`));
    } finally {
      await rm(log, { force: true });
    }
  });

  it.skipIf(lldbMissing !== undefined)('memory read of 1 MiB to a file equals vmkd\'s own read; a second lldb follows', async () => {
    const base = r.sim.layout.dataRegion.virtualBase + 0x3000n;
    const file = join(tmpdir(), `vmkd-lldb-dump-${process.pid}-${via}.bin`);
    try {
      const { output } = await runLldb(port, [`memory read --outfile ${file} --binary --force --count ${MIB} 0x${base.toString(16)}`, 'detach']);
      expect(output).toMatch(/1048576 bytes written/);
      // The endpoint's own session is free again once lldb has detached (the kernel runs: stop it first).
      await r.endpoint.session.breakIn();
      const own = await r.endpoint.session.readVirtual(base, MIB);
      expect(Buffer.compare(await readFile(file), own.data)).toBe(0);
      await r.endpoint.session.continue();
      const second = await runLldb(port, ['register read rip', 'detach']);
      expect(second.output).toMatch(/rip = 0x[0-9a-f]+/);
    } finally {
      await rm(file, { force: true });
    }
  });
});
