import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKdcomLink } from '@vmkd/kd-protocol';
import { describePacketLinkContract, skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { connectUnixByteLink } from '@vmkd/byte-links';
import { createDebuggerEndpoint } from '../../src/index.js';

/**
 * The endpoint (debugger-facing, persistent across debuggers) with a debugger's KDCOM link
 * (target-facing) attached over a real Unix socket, as radare2 or WinDbg would be.
 */
describePacketLinkContract('the debugger endpoint on a Unix socket, with a KDCOM debugger attached', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'endpoint-contract-'));
  const endpoint = await createDebuggerEndpoint({ listen: { kind: 'unix', path: join(dir, 'kd.sock') }, waitForDebuggerMs: 1000 });
  const socket = await connectUnixByteLink({ path: join(dir, 'kd.sock') });
  const debuggerLink = createKdcomLink(socket, { role: 'target-facing' });
  return {
    targetFacing: debuggerLink,
    debuggerFacing: endpoint,
    vanish: async (side) => {
      // Only the debugger's side can vanish here (the endpoint outlives its debuggers).
      if (side === 'targetFacing') await socket.close();
      else await endpoint.close();
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}, { skip: skipUnlessCapable('unix-sockets') });
