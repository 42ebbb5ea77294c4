import { describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { measureKdcomRecovery } from '../src/bench/index.js';

// The faulty line is a relay between two Unix sockets (src/bench/kdcom-recovery.ts).
const noUnixSockets = skipUnlessCapable('unix-sockets');

describe.skipIf(noUnixSockets !== undefined)(titleWithSkip('measureKdcomRecovery (the bench cell for KDCOM line faults)', noUnixSockets), () => {
  it('reads through a line that corrupts and drops bytes both ways: every read intact, nothing lost or taken twice', async () => {
    // Ten times the drop rate on 1,000-byte reads, so that 40 reads surely meet faults
    // while most frames still get through whole; corruption at the rate halved, so that
    // two corrupted bytes cancelling in KDCOM's byte-sum checksum (undetectable, spec 1.4) stay
    // out of a test's reach.
    const r = await measureKdcomRecovery({ reads: 40, size: 1000, corruptOneIn: 20_000, dropOneIn: 2000, seed: 7 });
    expect(r.reads).toBe(40);
    expect(r.faults).toBeGreaterThan(5);
    expect(r.faults).toBe(r.corrupted + r.dropped);
    expect(r.intact).toBe(40);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.resends + r.badFrames).toBeGreaterThan(0);
    expect(r.msPerFault).toBeGreaterThanOrEqual(0);
    expect(r.retransmit).toBe('adaptive');
  }, 180_000);

  it('with the legacy fixed timeouts too (what real UARTs keep)', async () => {
    const r = await measureKdcomRecovery({ reads: 10, size: 1000, corruptOneIn: 20_000, dropOneIn: 4000, retransmit: 'fixed', seed: 11 });
    expect(r.intact).toBe(10);
    expect(r.lost).toBe(0);
    expect(r.duplicated).toBe(0);
    expect(r.retransmit).toBe('fixed');
  }, 180_000);
});
