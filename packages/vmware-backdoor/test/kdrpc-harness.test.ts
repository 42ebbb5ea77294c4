import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createDebuggerSession } from '@vmkd/kd-protocol';
import { createEmulatedVmx, createKdrpcHost, runUnderHarness, type HarnessRun } from '../src/index.js';
import { harnessSkipReason } from './fixtures/harness-env.js';

const skip = harnessSkipReason();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const source = (pkg: string): string => pathToFileURL(fileURLToPath(new URL(`../../${pkg}/src/index.ts`, import.meta.url))).href;
const SIZE = 1024 * 1024;

/** The guest half, as a child program: the virtual kernel's TargetSession over the KDRPC guest link, backdoor calls through vmkd's native stubs. */
const childSource = `
import { createHash } from 'node:crypto';
const { createNativeBackdoorPort, createKdrpcGuestStack } = await import(${JSON.stringify(source('vmware-backdoor'))});
const { createTargetSession } = await import(${JSON.stringify(source('kd-protocol'))});
const { createSimTarget } = await import(${JSON.stringify(source('sim-target'))});
const sim = createSimTarget({ memorySize: 32 * 1024 * 1024, printIntervalMs: 0 });
console.log('digest ' + createHash('sha256').update(sim.readPhysical(0x300000n, ${SIZE})).digest('hex'));
const port = await createNativeBackdoorPort();
const stack = createKdrpcGuestStack({ port });
createTargetSession(stack.link, sim);
setTimeout(() => process.exit(3), 60_000).unref?.();
setInterval(() => undefined, 1000);
`;

describe.skipIf(skip !== undefined)('the accelerated path with the guest in a child process under the ptrace harness', () => {
  it('DebuggerSession → KDRPC host ⇄ emulated VMX ⇄ trapped native stubs → TargetSession + sim target', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmkd-kdrpc-harness-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const script = join(dir, 'guest.mts');
    await writeFile(script, childSource);

    const host = createKdrpcHost();
    const vmx = createEmulatedVmx();
    vmx.register('~kdVMvA', host.vmxHandler);
    let stdout = '';
    let stderr = '';
    const run: HarnessRun = await runUnderHarness({
      command: process.execPath,
      args: ['--import', 'tsx', '--conditions=@vmkd/source', script],
      vmx,
      onStdout: (chunk) => (stdout += chunk.toString()),
      onStderr: (chunk) => (stderr += chunk.toString()),
      timeoutMs: 90_000,
    });
    const session = createDebuggerSession(host, { timeoutMs: 20_000 });
    cleanups.push(
      () => session.close(),
      () => host.close(),
      async () => {
        run.kill();
        await run.exited.catch(() => undefined);
      },
    );

    const stop = await session.attach({ timeoutMs: 15_000 }).catch((error: unknown) => {
      throw new Error(`attach failed: ${String(error)}; stdout=${stdout} stderr=${stderr} harness=${JSON.stringify(run.stats)} vmx=${JSON.stringify(vmx.stats())} host=${JSON.stringify(host.status())}`);
    });
    expect(stop.kind).toBe('exception');
    const got = await session.readPhysical(0x300000n, SIZE);
    expect(got.bytesRead).toBe(SIZE);
    const digest = createHash('sha256').update(got.data).digest('hex');
    expect(stdout).toContain(`digest ${digest}`);

    await session.continue();
    const stopped = await session.breakIn({ timeoutMs: 20_000 });
    expect(stopped.kind).toBe('exception');
    expect(host.status()).toMatchObject({ versionAccepted: true, testsPassed: 3, rejected: 0 });
    expect(run.stats.backdoorCalls).toBeGreaterThan(7 * 256);
    expect(stderr).toBe('');
  }, 120_000);
});
