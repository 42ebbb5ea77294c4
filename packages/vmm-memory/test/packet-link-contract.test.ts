import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMemoryPacketPair } from '@vmkd/kd-protocol';
import { describePacketLinkContract } from '@vmkd/kd-protocol/testing';
import { createFastPathLink, openFileSource } from '../src/index.js';
import { ramDir } from './sim-ram.js';

/**
 * The fast path is a PacketLink: in front of an in-memory pair it must keep every rule of the
 * contract. The contract's stops are not ones the link can validate (NewState 0), so everything
 * passes through, as it must for any traffic the link does not understand.
 */
describePacketLinkContract('memory fast path in front of an in-memory pair', async () => {
  const dir = ramDir();
  const path = join(dir.dir, 'contract.ram');
  writeFileSync(path, new Uint8Array(1 << 20));
  const [targetFacing, debuggerFacing] = createMemoryPacketPair({ names: ['fast-path', 'memory:target'] });
  const fast = createFastPathLink(targetFacing, await openFileSource(path));
  return {
    targetFacing: fast,
    debuggerFacing,
    vanish: (side) => (side === 'targetFacing' ? targetFacing.disconnect() : debuggerFacing.disconnect()),
    dispose: () => dir.remove(),
  };
});
