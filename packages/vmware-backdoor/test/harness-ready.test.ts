import { describe, expect, it } from 'vitest';
import { createEmulatedVmx, runUnderHarnessUntilReady } from '../src/index.js';
import { harnessSkipReason } from './fixtures/harness-env.js';

const skip = harnessSkipReason();

describe.skipIf(skip !== undefined)('runUnderHarnessUntilReady', () => {
  it('resolves with the ready line once the program prints it, and hands on later output', async () => {
    const later: string[] = [];
    const { run, match } = await runUnderHarnessUntilReady({
      command: '/bin/sh',
      args: ['-c', 'echo starting; echo "ready 7f00 1000"; sleep 0.2; echo after'],
      vmx: createEmulatedVmx(),
      ready: /^ready (\S+) (\S+)$/m,
      onStdout: (chunk) => later.push(chunk.toString()),
    });
    expect(match.slice(1)).toEqual(['7f00', '1000']);
    expect(await run.exited).toMatchObject({ code: 0 });
    expect(later.join('')).toBe('after\n');
  });

  it('fails with ERR_HARNESS_START_FAILED, quoting standard error, when the program exits first', async () => {
    await expect(
      runUnderHarnessUntilReady({ command: '/bin/sh', args: ['-c', 'echo "no VMX here" >&2; exit 3'], vmx: createEmulatedVmx(), ready: /^ready$/m }),
    ).rejects.toMatchObject({ code: 'ERR_HARNESS_START_FAILED', message: expect.stringContaining('no VMX here') as unknown });
  });

  it('kills a program that never gets ready and fails with ERR_HARNESS_START_TIMEOUT', async () => {
    await expect(
      runUnderHarnessUntilReady({ command: '/bin/sh', args: ['-c', 'sleep 30'], vmx: createEmulatedVmx(), ready: /^ready$/m, startTimeoutMs: 300 }),
    ).rejects.toMatchObject({ code: 'ERR_HARNESS_START_TIMEOUT' });
  });
});
