import { describe, expect, it } from 'vitest';
import { fuzzRole } from '../bench/fuzz-kit.js';

// The full 100,000-datagram run per role is `npx nx run kdnet:bench` (bench/fuzz.bench.ts).
describe('fuzz: random and mutated datagrams into both roles', () => {
  it.each(['guest', 'endpoint'] as const)('%s: no crash, nothing delivered from a datagram that fails authentication, state bounded', (role) => {
    const report = fuzzRole(role, 5000, role === 'guest' ? 11 : 12);
    expect(report.violations).toEqual([]);
    expect(report.unauthenticated).toBeGreaterThan(3000);
    const drops = report.state.stats.drops;
    expect(drops.hmac + drops.length + drops.magic + drops.channel).toBeGreaterThan(3000);
    expect(drops.replay).toBeGreaterThan(100);
    expect(report.state.queue.length).toBeLessThanOrEqual(1);
  });
});
