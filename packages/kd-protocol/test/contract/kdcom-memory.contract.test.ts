import { createKdcomLink } from '../../src/index.js';
import { createMemoryBytePair, describePacketLinkContract } from '../../src/testing/index.js';

describePacketLinkContract('KDCOM (both roles) over the memory byte pair', () => {
  const [a, b] = createMemoryBytePair({ names: ['memory:debugger', 'memory:target'] });
  return {
    targetFacing: createKdcomLink(a, { role: 'target-facing' }),
    debuggerFacing: createKdcomLink(b, { role: 'debugger-facing' }),
    vanish: (side) => (side === 'targetFacing' ? a : b).abort(),
  };
});
