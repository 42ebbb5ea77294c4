import { describe, expect, it } from 'vitest';
import { createEmulatedVmx, runUnderHarness } from '../src/index.js';
import { harnessSkipReason, nodeFixtureArgs } from './fixtures/harness-env.js';

const skip = harnessSkipReason();
if (skip) console.warn(`harness tests skipped: ${skip}`);

describe.skipIf(skip !== undefined)('vmkd native stubs in a Node child under the harness', () => {
  it('detects VMware through emulated CPUID and runs GETVERSION through the real LB stub', async () => {
    const vmx = createEmulatedVmx();
    let stdout = '';
    let stderr = '';
    const run = await runUnderHarness({
      command: process.execPath,
      args: nodeFixtureArgs('getversion-child.ts', '2000'),
      vmx,
      onStdout: (chunk) => (stdout += chunk.toString()),
      onStderr: (chunk) => (stderr += chunk.toString()),
      timeoutMs: 60_000,
    });
    expect(run.pid).toBeGreaterThan(0);
    const exit = await run.exited;
    expect({ exit, stderr }).toEqual({ exit: { code: 0, signal: null }, stderr: '' });
    expect(stdout).toContain('detect true VMwareVMware io');
    expect(stdout).toContain('regs 6 0x564d5868 4 0x5658 0 0');
    const rate = /rate 2000 (\d+)/.exec(stdout);
    expect(rate).not.toBeNull();
    console.info(`harness: ${rate?.[1]} emulated GETVERSION calls/s`);
    expect(run.stats.cpuidFaulting).toBe(true);
    expect(run.stats.cpuidEmulated).toBeGreaterThan(0);
    expect(run.stats.backdoorCalls).toBe(2 + 1 + 2000); // two detections' GETVERSION, the printed one, 2000 timed
    expect(vmx.stats().calls).toBe(run.stats.backdoorCalls);
  });

  it('carries a 64 KiB RPCI request and its 64 KiB reply through the HB path (GuestRPC in the child, emulated VMX here)', async () => {
    const vmx = createEmulatedVmx();
    const seen: number[] = [];
    vmx.register('vmkd.echo', (args) => {
      seen.push(args.length);
      return args;
    });
    let stdout = '';
    let stderr = '';
    const run = await runUnderHarness({
      command: process.execPath,
      args: nodeFixtureArgs('rpci-child.ts', String(64 * 1024)),
      vmx,
      onStdout: (chunk) => (stdout += chunk.toString()),
      onStderr: (chunk) => (stderr += chunk.toString()),
      timeoutMs: 60_000,
    });
    expect({ exit: await run.exited, stderr }).toEqual({ exit: { code: 0, signal: null }, stderr: '' });
    const sent = /sent (\d+) ([0-9a-f]{64})/.exec(stdout);
    const reply = /reply true (\d+) ([0-9a-f]{64})/.exec(stdout);
    expect(sent?.[1]).toBe(String(64 * 1024));
    expect(reply?.[1]).toBe(String(64 * 1024 - 'vmkd.echo '.length));
    expect(reply?.[2]).toBe(sent?.[2]);
    expect(seen).toEqual([64 * 1024 - 'vmkd.echo '.length]);
    expect(run.stats.hbOutBytes).toBe(64 * 1024);
    expect(run.stats.hbInBytes).toBe(64 * 1024 - 'vmkd.echo '.length + 2);
    expect(vmx.stats()).toMatchObject({ hbOut: 1, hbIn: 1, rpcs: 1 });
  });
});
