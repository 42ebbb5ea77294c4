import { describePacketLinkContract } from '@vmkd/kd-protocol/testing';
import { createKdnetEndpointLink, createKdnetGuestLink, openUdpPort } from '../src/index.js';

const tuning = { ackTimeoutMs: 200, connectWaitMs: 2000 } as const;

for (const host of ['127.0.0.1', '::1']) {
  describePacketLinkContract(`KDNET guest ⇄ KDNET endpoint over real UDP on ${host}`, async () => {
    const key = 'c0ntract.k3y.1.2';
    const guestUdp = await openUdpPort({ bind: { address: host, port: 0 } });
    const targetFacing = await createKdnetGuestLink({ key, udp: guestUdp, peerTimeoutMs: 1000, ...tuning });
    const endpointUdp = await openUdpPort({ bind: { address: host, port: 0 }, connectTo: guestUdp.local });
    const debuggerFacing = await createKdnetEndpointLink({ key, debugger: guestUdp.local, udp: endpointUdp, pokeIntervalMs: 100, ...tuning });
    return {
      targetFacing,
      debuggerFacing,
      // The socket torn down under the link, as when a process dies: the guest side notices the
      // silence (no pokes), the endpoint the ICMP port-unreachable its next poke draws.
      vanish: (side) => void (side === 'targetFacing' ? guestUdp : endpointUdp).socket.close(),
    };
  });
}
