import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isVmkdError } from '@vmkd/kd-protocol';
import { createEmulatedVmx, runUnderHarness } from '../src/index.js';
import type { HarnessOptions } from '../src/index.js';
import { harnessSkipReason, hasCommand } from './fixtures/harness-env.js';

const skip = harnessSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'vmkd-harness-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runCapture(options: Omit<HarnessOptions, 'onStdout' | 'onStderr'>) {
  let stdout = '';
  let stderr = '';
  const run = await runUnderHarness({ timeoutMs: 30_000, ...options, onStdout: (c) => (stdout += c.toString()), onStderr: (c) => (stderr += c.toString()) });
  const exit = await run.exited;
  return { exit, stdout, stderr, stats: run.stats };
}

describe.skipIf(skip !== undefined || !hasCommand('vmware-rpctool'))("open-vm-tools' vmware-rpctool under the harness", () => {
  it('sets a guestinfo variable and reads it back from the emulated VMX', async () => {
    const vmx = createEmulatedVmx();
    const set = await runCapture({ command: 'vmware-rpctool', args: ['info-set guestinfo.vmkd hello'], vmx });
    expect(set.exit).toEqual({ code: 0, signal: null });
    expect(vmx.guestInfo.get('vmkd')).toBe('hello');
    const get = await runCapture({ command: 'vmware-rpctool', args: ['info-get guestinfo.vmkd'], vmx });
    expect(get).toMatchObject({ exit: { code: 0, signal: null }, stdout: 'hello\n' });
    expect(get.stats.cpuidFaulting).toBe(true);
    expect(get.stats.hbInBytes).toBe('1 hello'.length);
  });

  it('refuses to run when CPUID does not say VMware (the vendor comes from the harness options)', async () => {
    const vmx = createEmulatedVmx();
    const result = await runCapture({ command: 'vmware-rpctool', args: ['info-get guestinfo.vmkd'], vmx, cpuid: { vendor: 'KVMKVMKVM' } });
    expect(result.exit.code).not.toBe(0);
    expect(result.stderr).toMatch(/VMware/);
    expect(vmx.stats().calls).toBe(0);
  });
});

describe.skipIf(skip !== undefined)('signals, deaths and timeouts', () => {
  const gcc = hasCommand('gcc');
  const probe = join(dir, 'own-probe');
  if (gcc) execFileSync('gcc', ['-O1', '-o', probe, fileURLToPath(new URL('./fixtures/own-probe.c', import.meta.url))]);

  it.runIf(gcc)("hands a program's own non-backdoor SIGSEGV back to its handler", async () => {
    const vmx = createEmulatedVmx();
    const result = await runCapture({ command: probe, vmx });
    expect(result).toMatchObject({ exit: { code: 0, signal: null }, stdout: 'caught SIGSEGV\n' });
    expect(result.stats.backdoorCalls).toBe(0);
    expect(result.stats.signalsForwarded).toBeGreaterThanOrEqual(1);
  });

  it.runIf(gcc)('reports a program killed by a forwarded SIGSEGV', async () => {
    const result = await runCapture({ command: probe, args: ['crash'], vmx: createEmulatedVmx() });
    expect(result.exit).toEqual({ code: null, signal: 'SIGSEGV' });
  });

  it('reports a missing program as exit 127 (the exec fails), never hangs', async () => {
    const result = await runCapture({ command: join(dir, 'does-not-exist'), vmx: createEmulatedVmx() });
    expect(result.exit.code).toBe(127);
  });

  it('kills the program after timeoutMs', async () => {
    const result = await runCapture({ command: 'sleep', args: ['30'], vmx: createEmulatedVmx(), timeoutMs: 500 });
    expect(result.exit).toEqual({ code: null, signal: 'SIGKILL', reason: 'timeout' });
  });

  it('kill() ends a program that forked children', async () => {
    const run = await runUnderHarness({ command: 'sh', args: ['-c', 'sleep 30 & sleep 30; wait'], vmx: createEmulatedVmx(), timeoutMs: 30_000 });
    setTimeout(() => run.kill(), 300);
    await expect(run.exited).resolves.toMatchObject({ signal: 'SIGKILL', reason: 'killed' });
  });

  it('rejects bad options with ERR_HARNESS_BAD_OPTIONS', async () => {
    const error: unknown = await runUnderHarness({ command: '', vmx: createEmulatedVmx() }).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_HARNESS_BAD_OPTIONS')).toBe(true);
  });
});
