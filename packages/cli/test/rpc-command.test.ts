import { describe, expect, it } from 'vitest';
import { createEmulatedVmx, detectVmware } from '@vmkd/vmware-backdoor';
import { isVmkdError } from '@vmkd/kd-protocol';
import { runRpc } from '../src/commands/rpc.js';
import { createCommandContext } from '../src/output/command-context.js';
import { runInProcess } from './cli-harness.js';

function captureContext(json: boolean) {
  const out = { stdout: '', stderr: '' };
  const ctx = createCommandContext(
    {
      stdout: { write: (t: string) => (out.stdout += t) },
      stderr: { write: (t: string) => (out.stderr += t) },
      env: {},
      shutdown: new AbortController().signal,
    },
    json,
  );
  return { ctx, out };
}

const here = await detectVmware();

describe('vmkd rpc', () => {
  it.runIf(!here.isVmware)('refuses cleanly outside VMware with ERR_BACKDOOR_NOT_VMWARE and the reason (exit 1)', async () => {
    const run = await runInProcess(['rpc', 'info-get guestinfo.ip', '--json']);
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('ERR_BACKDOOR_NOT_VMWARE');
    expect(body.error.message).toMatch(/^not a VMware guest \(/);
    expect(run.stderr).toMatch(/ERR_BACKDOOR_NOT_VMWARE: not a VMware guest/);
  });

  it('sends GuestRPC through a backdoor port and prints the reply (emulated VMX)', async () => {
    const vmx = createEmulatedVmx({ guestInfo: { 'guestinfo.ip': '192.0.2.7' } });
    const { ctx, out } = captureContext(false);
    expect(await runRpc(ctx, 'info-get guestinfo.ip', { port: vmx })).toBe(0);
    expect(out.stdout).toBe('192.0.2.7\n');

    const json = captureContext(true);
    expect(await runRpc(json.ctx, 'info-set guestinfo.vmkd hello', { port: vmx })).toBe(0);
    expect(JSON.parse(json.out.stdout)).toEqual({ command: 'info-set guestinfo.vmkd hello', ok: true, result: '' });
    expect(vmx.guestInfo.get('vmkd')).toBe('hello');
  });

  it('turns a "0 " reply into ERR_RPCI_COMMAND_FAILED', async () => {
    const vmx = createEmulatedVmx();
    const { ctx } = captureContext(false);
    const error = await runRpc(ctx, 'info-get guestinfo.nothing-here', { port: vmx }).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_RPCI_COMMAND_FAILED')).toBe(true);
  });
});
