import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKdcomLink } from '../../src/index.js';
import { describePacketLinkContract, skipUnlessCapable } from '../../src/testing/index.js';
import { socketByteLink } from '../socket-byte-link.js';

describePacketLinkContract('KDCOM (both roles) over a real Unix socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdcom-contract-'));
  const path = join(dir, 'kd.sock');
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = await new Promise<Socket>((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
  const served = await accepted;
  return {
    targetFacing: createKdcomLink(socketByteLink(client, `unix:${path}`), { role: 'target-facing' }),
    debuggerFacing: createKdcomLink(socketByteLink(served, `unix:${path}#accepted`), { role: 'debugger-facing' }),
    // The socket torn down under the link, as when a process dies: the other end sees it go.
    vanish: (side) => void (side === 'targetFacing' ? client : served).destroy(),
    dispose: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, { skip: skipUnlessCapable('unix-sockets') });
