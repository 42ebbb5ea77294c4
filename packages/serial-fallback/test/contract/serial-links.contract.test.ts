import { describePacketLinkContract } from '@vmkd/kd-protocol/testing';
import { createSerialGuestLink, createSerialTargetLink } from '../../src/index.js';

/**
 * The two persistent KDCOM links of this package facing each other over a real loopback TCP
 * connection, as a VM's serial port served on TCP and `vmkd route`'s serial guest are: the guest
 * link (target-facing, connects, no reconnect here so a closed peer stays gone) and the target link
 * (debugger-facing, listens; what `vmkd sim --listen` serves). A send waits 1 s for a peer, so the
 * contract's "sends fail once the peer is gone" checks do not wait the default 30 s.
 */
describePacketLinkContract('serial guest link ↔ serial target link over loopback TCP', async () => {
  const target = await createSerialTargetLink({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, waitForPeerMs: 1000 });
  const port = Number(new URL(target.address).port);
  const guest = await createSerialGuestLink({ connect: { kind: 'tcp', host: '127.0.0.1', port }, reconnect: false, waitForPeerMs: 1000 });
  return { targetFacing: guest, debuggerFacing: target };
});
