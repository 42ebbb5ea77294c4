import { VmkdError } from '@vmkd/kd-protocol';
import { createNativeBackdoorPort, createRpci, GuestRpcErrorCode } from '@vmkd/vmware-backdoor';
import type { BackdoorPort } from '@vmkd/vmware-backdoor';
import type { CommandContext } from '../output/command-context.js';

export interface RpcCommandOptions {
  /** Tests and the ptrace harness hand in their own port; the CLI uses the native one. */
  readonly port?: BackdoorPort;
}

/**
 * `vmkd rpc <command>`: one GuestRPC (RPCI) command on a real VMware guest, e.g.
 * `info-get guestinfo.ip`. Detection runs first (CPUID, then GETVERSION only on VMware), so any
 * other machine gets `ERR_BACKDOOR_NOT_VMWARE` with the reason instead of a crash.
 */
export async function runRpc(ctx: CommandContext, command: string, options: RpcCommandOptions = {}): Promise<number> {
  const port = options.port ?? (await createNativeBackdoorPort());
  const rpci = createRpci(port);
  try {
    const reply = await rpci.send(command);
    if (!reply.ok) {
      throw new VmkdError(GuestRpcErrorCode.CommandFailed, `the VMX refused "${command}": ${reply.text || '(no reason given)'}`, {
        details: { command, reply: reply.text },
      });
    }
    ctx.result({ command, ok: true, result: reply.text }, () => reply.text);
    return 0;
  } finally {
    await rpci.close();
  }
}
