import { createKdcomLink } from '@vmkd/kd-protocol';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { connectUnix, socketByteLink, unixListener } from './support/socket-byte-link.js';
import { describeSessionScenario } from './support/session-scenario.js';

// Both ends speak KDCOM bytes on a real Unix-socket connection in a temp dir.
describeSessionScenario('DebuggerSession ↔ TargetSession + sim-target over KDCOM on a Unix socket', async () => {
  const listener = await unixListener();
  const [client, server] = await Promise.all([connectUnix(listener.path), listener.accepted]);
  const debuggerLink = createKdcomLink(socketByteLink(client, 'debugger-socket'), { role: 'target-facing' });
  const targetLink = createKdcomLink(socketByteLink(server, 'target-socket'), { role: 'debugger-facing' });
  return {
    debuggerLink,
    targetLink,
    async dispose() {
      await debuggerLink.close();
      await targetLink.close();
      listener.dispose();
    },
  };
}, { skip: skipUnlessCapable('unix-sockets') });
