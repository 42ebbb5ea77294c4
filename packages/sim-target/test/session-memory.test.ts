import { createMemoryPacketPair } from '@vmkd/kd-protocol';
import { describeSessionScenario } from './support/session-scenario.js';

describeSessionScenario('DebuggerSession ↔ TargetSession + sim-target over createMemoryPacketPair()', () => {
  const [debuggerLink, targetLink] = createMemoryPacketPair();
  return Promise.resolve({
    debuggerLink,
    targetLink,
    async dispose() {
      await debuggerLink.close();
      await targetLink.close();
    },
  });
});
