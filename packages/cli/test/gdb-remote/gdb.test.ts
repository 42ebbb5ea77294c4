import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GlobalOffset, fillExpected } from '@vmkd/sim-target';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gdbsUnderTest, printedValues, runGdb, startGdb, type GdbUnderTest } from './clients.js';
import { openSimRoute, type GuestVia, type SimRoute } from './sim-route.js';

// Real gdb/lldb through a route on a loaded machine: the time the gdb endpoint's own tests had.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });


async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const MIB = 1024 * 1024;

const cases = gdbsUnderTest().flatMap((gdb) => (['serial', 'kdrpc'] as const).map((via): [string, GuestVia, GdbUnderTest] => [gdb.label, via, gdb]));

describe.each(cases)('real %s through a route over %s to the virtual kernel', (_label, via, gdb) => {
  let r: SimRoute;
  let port: number;
  const gdbMissing = gdb.missing;
  const gdbRun = (commands: readonly string[]): ReturnType<typeof runGdb> => runGdb(port, commands, undefined, gdb.command);
  const tag = `${via}-${gdb.binaryReads ? 'x' : 'm'}`;

  beforeAll(async () => {
    if (gdbMissing !== undefined) return;
    r = await openSimRoute(via, { cpus: 2 });
    port = r.endpoint.port;
  });
  afterAll(async () => {
    await r?.close();
  });

  it.skipIf(gdbMissing !== undefined)(`info registers: rip and cr3 as vmkd's own session reads them${gdbMissing ? ` (skipped: ${gdbMissing})` : ''}`, async () => {
    // `kill` leaves the kernel stopped, so the session reads the same stop afterwards.
    const { output } = await gdbRun(['info registers', 'p/x $cr3', 'p/x $dr7', 'p/x $rip', 'kill']);
    expect(output).toMatch(/^rip\s+0x[0-9a-f]+/m);
    expect(output).toMatch(/^eflags\s+0x[0-9a-f]+\s+\[.*IF.*\]/m);
    expect(output).toMatch(/^cr3\s+0x[0-9a-f]+/m);
    const [cr3, dr7, rip] = printedValues(output);
    const session = r.endpoint.session;
    const context = await session.getContext();
    const special = await session.getSpecialRegisters();
    expect(rip).toBe(context.get('rip'));
    expect(cr3).toBe(special.cr3);
    expect(dr7).toBe(special.kernelDr7);
    expect(rip).toBe(r.sim.rip(0));
    expect(BigInt(/^rsp\s+(0x[0-9a-f]+)/m.exec(output)![1])).toBe(context.get('rsp'));
  });

  it.skipIf(gdbMissing !== undefined)('x/32xb shows the kernel MZ header, byte for byte what vmkd reads', async () => {
    const kernBase = r.sim.layout.kernBase;
    const { output } = await gdbRun([`x/32xb 0x${kernBase.toString(16)}`, 'kill']);
    const bytes = [...output.matchAll(/^0x[0-9a-f]+:((?:\s+0x[0-9a-f]{2})+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/).map((b) => parseInt(b, 16)));
    expect(bytes).toHaveLength(32);
    expect(bytes.slice(0, 2)).toEqual([0x4d, 0x5a]);
    const own = await r.endpoint.session.readVirtual(kernBase, 32);
    expect(bytes).toEqual([...own.data]);
  });

  it.skipIf(gdbMissing !== undefined)(`reads memory with ${gdb.binaryReads ? 'binary x' : 'hex m'} packets, as this gdb does`, async () => {
    const kernBase = r.sim.layout.kernBase;
    const { output } = await gdbRun(['set debug remote 1', `x/8xb 0x${kernBase.toString(16)}`, 'set debug remote 0', `p/x *(unsigned short *)0x${kernBase.toString(16)}`, 'kill']);
    const sent = [...output.matchAll(/Sending packet: \$([mx])f[0-9a-f]+,[0-9a-f]+#/g)].map((m) => m[1]);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set([gdb.binaryReads ? 'x' : 'm']));
    // 'MZ' read back through the same packets.
    expect(printedValues(output)).toEqual([0x5a4dn]);
  });

  it.skipIf(gdbMissing !== undefined)('dump binary memory of 1 MiB equals vmkd\'s own read', async () => {
    const base = r.sim.layout.dataRegion.virtualBase + 0x1000n;
    const file = join(tmpdir(), `vmkd-gdb-dump-${process.pid}-${tag}.bin`);
    try {
      const { output } = await gdbRun([`dump binary memory ${file} 0x${base.toString(16)} 0x${(base + BigInt(MIB)).toString(16)}`, 'kill']);
      expect(output).not.toMatch(/Cannot access memory/);
      const dumped = new Uint8Array(await readFile(file));
      const own = await r.endpoint.session.readVirtual(base, MIB);
      expect(own.bytesRead).toBe(MIB);
      expect(dumped.length).toBe(MIB);
      expect(Buffer.compare(dumped, own.data)).toBe(0);
      const expected = new Uint8Array(MIB);
      fillExpected(base, expected);
      expect(Buffer.compare(dumped, expected)).toBe(0);
    } finally {
      await rm(file, { force: true });
    }
  });

  it.skipIf(gdbMissing !== undefined)('dump of the kernel image (headers, zero padding, int3 runs) equals vmkd\'s own read: run-length encoded replies decode in gdb', async () => {
    const kernBase = r.sim.layout.kernBase;
    const file = join(tmpdir(), `vmkd-gdb-image-${process.pid}-${tag}.bin`);
    const size = 0x500000;
    try {
      const { output } = await gdbRun([`dump binary memory ${file} 0x${kernBase.toString(16)} 0x${(kernBase + BigInt(size)).toString(16)}`, 'kill']);
      expect(output).not.toMatch(/Cannot access memory/);
      const dumped = new Uint8Array(await readFile(file));
      const own = await r.endpoint.session.readVirtual(kernBase, size);
      expect(own.bytesRead).toBe(size);
      expect(Buffer.compare(dumped, own.data)).toBe(0);
      // The image is mostly runs: zero padding after the headers and sections, int3 around the code.
      let inRuns = 0;
      for (let i = 2; i < size; i++) if (own.data[i] === own.data[i - 1] && own.data[i] === own.data[i - 2]) inRuns++;
      expect(inRuns).toBeGreaterThan(size / 2);
    } finally {
      await rm(file, { force: true });
    }
  });

  it.skipIf(gdbMissing !== undefined)('break *ADDR + continue hits; stepi advances rip', async () => {
    const at = r.sim.layout.idleLoopStart + 0x100n;
    const { output } = await gdbRun([`break *0x${at.toString(16)}`, 'continue', 'p/x $rip', 'stepi', 'p/x $rip', 'delete', 'kill']);
    expect(output).toMatch(new RegExp(`hit Breakpoint 1, 0x0*${at.toString(16)}`));
    const [hit, stepped] = printedValues(output);
    expect(hit).toBe(at);
    expect(stepped).toBe(at + 1n);
    expect(r.sim.breakpoints()).toEqual([]);
  });

  it.skipIf(gdbMissing !== undefined)('hbreak, watch, rwatch and awatch stop on the kernel\'s own execution and accesses; a fifth hbreak is refused', async () => {
    // The idle loop: `inc qword [counter]` at `inc` (a write), then a read of KUSER_SHARED_DATA.TickCount.
    const counter = r.sim.layout.globals + BigInt(GlobalOffset.IdleLoopCount);
    const tick = r.sim.layout.kuserSharedData + 0x320n;
    const inc = r.sim.layout.idleLoopJump - 17n;
    const h = (v: bigint): string => `0x${v.toString(16)}`;
    const { output } = await gdbRun([
      `hbreak *${h(inc)}`,
      'continue',
      'p/x $rip',
      'delete',
      `watch *(long*)${h(counter)}`,
      'continue',
      'p/x $rip',
      'delete',
      `rwatch *(int*)${h(tick)}`,
      'continue',
      'p/x $rip',
      'delete',
      `awatch *(long*)${h(counter)}`,
      'continue',
      'delete',
      ...[0n, 1n, 2n, 3n, 4n].map((i) => `hbreak *${h(inc + i)}`),
      'continue',
      'delete',
      'kill',
    ]);
    expect(output).toMatch(new RegExp(`^Hardware assisted breakpoint 1 at ${h(inc)}$`, 'm'));
    expect(output).toMatch(new RegExp(`hit Breakpoint 1, ${h(inc)} in`));
    const watched = new RegExp(`hit Hardware watchpoint 2: \\*\\(long\\*\\)${h(counter)}\n\nOld value = (\\d+)\nNew value = (\\d+)`).exec(output);
    expect(watched).not.toBeNull();
    expect(BigInt(watched![2])).toBe(BigInt(watched![1]) + 1n);
    expect(output).toMatch(new RegExp(`hit Hardware read watchpoint 3: \\*\\(int\\*\\)${h(tick)}\n\nValue = \\d+`));
    expect(output).toMatch(new RegExp(`hit Hardware access \\(read/write\\) watchpoint 4: \\*\\(long\\*\\)${h(counter)}\n\n(Old value|Value) = `));
    // Where each stopped: at the instruction (execute), after the `inc` (write), after the read.
    expect(printedValues(output)).toEqual([inc, inc + 7n, inc + 17n]);
    // Four debug registers: the fifth is refused with an E reply (E1c) and gdb aborts the continue
    // (gdb 13 says so in two lines, gdb 16 quotes the reply).
    expect(output).toMatch(/Cannot insert hardware breakpoint 9(\.\nCould not insert hardware breakpoints:|:Remote failure reply: 1c\.)/);
    expect(r.endpoint.session.armedDr7).toBe(0x400n);
  });

  it.skipIf(gdbMissing !== undefined)('info threads lists both CPUs; thread 2 reads CPU 1\'s registers', async () => {
    const { output } = await gdbRun(['info threads', 'thread 2', 'p/x $rip', 'kill']);
    expect(output).toMatch(/^\*\s+1\s+Thread 1 \(CPU 0/m);
    expect(output).toMatch(/^\s+2\s+Thread 2 \(CPU 1/m);
    expect(printedValues(output)).toEqual([r.sim.rip(1)]);
  });

  it.skipIf(gdbMissing !== undefined)('an interrupt (SIGINT to gdb) stops the running kernel', async () => {
    const client = startGdb(port, ['continue', 'p/x $rip', 'kill'], undefined, gdb.command);
    // gdb prints nothing in batch mode when it continues: watch the kernel start running instead.
    await until(() => r.sim.stopReason() === undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.sim.stopReason()).toBeUndefined();
    client.signal('SIGINT');
    const { output } = await client.done;
    expect(output).toMatch(/received signal SIGINT/);
    expect(r.sim.stopReason()).toBeDefined();
    const [rip] = printedValues(output);
    expect(rip).toBe(r.sim.rip(r.endpoint.session.currentProcessor));
  });

  it.skipIf(gdbMissing !== undefined)('info sharedlibrary lists ntoskrnl.exe and hal.dll; monitor lm shows their bases', async () => {
    const { output } = await gdbRun(['info sharedlibrary', 'monitor lm', 'kill']);
    expect(output).toMatch(/^\s+No\s+ntoskrnl\.exe$/m);
    expect(output).toMatch(/^\s+No\s+hal\.dll$/m);
    for (const name of ['ntoskrnl.exe', 'hal.dll']) {
      const m = r.sim.modules.find((x) => x.baseName.toLowerCase() === name.toLowerCase())!;
      expect(output).toMatch(new RegExp(`^${m.base.toString(16).padStart(16, '0')}\\s+${(m.base + BigInt(m.size)).toString(16).padStart(16, '0')}\\s+${name.replace('.', '\\.')}$`, 'm'));
    }
  });

  it.skipIf(gdbMissing !== undefined)('a second gdb attaches after the first detaches (the kernel ran in between)', async () => {
    const first = await gdbRun(['p/x $rip', 'detach']);
    expect(first.output).toMatch(/Remote target\) detached/);
    expect(r.sim.stopReason()).toBeUndefined();
    const second = await gdbRun(['p/x $rip', 'monitor version', 'kill']);
    expect(second.output).toMatch(/target: Windows free build 7601, machine 0x8664/);
    expect(printedValues(second.output)).toHaveLength(1);
    expect(r.sim.stopReason()).toBeDefined();
  });
});
