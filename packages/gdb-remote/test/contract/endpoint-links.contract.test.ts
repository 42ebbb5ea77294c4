import { describePacketLinkContract } from '@vmkd/kd-protocol/testing';
import { createEndpointLinkPair } from '../../src/endpoint-links.js';

// The link the gdb endpoint gives the router, and its partner the endpoint's DebuggerSession holds.
describePacketLinkContract('the gdb endpoint\'s router link (in-process pair to its KD debugger)', () => {
  const [targetFacing, debuggerFacing] = createEndpointLinkPair('gdb://127.0.0.1:0');
  return {
    targetFacing,
    debuggerFacing,
    vanish: (side) => (side === 'targetFacing' ? targetFacing : debuggerFacing).disconnect(),
  };
});
