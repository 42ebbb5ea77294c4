import { createMemoryPacketPair, describePacketLinkContract } from '../../src/testing/index.js';

describePacketLinkContract('memory packet pair', () => {
  const [targetFacing, debuggerFacing] = createMemoryPacketPair();
  return {
    targetFacing,
    debuggerFacing,
    vanish: (side) => (side === 'targetFacing' ? targetFacing : debuggerFacing).disconnect(),
  };
});
