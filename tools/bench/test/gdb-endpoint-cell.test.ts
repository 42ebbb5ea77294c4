import { describe, expect, it } from 'vitest';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { ENDPOINT_URIS, GUEST_URIS, planMatrix } from '../src/index.js';
import { runCell } from '../src/run-cell.js';

describe('the gdb:// endpoint cell', () => {
  it('is in the full matrix for serial-unix and kdrpc-vmx', () => {
    const ids = planMatrix({ quick: false }).map((c) => `${c.guest}/${c.endpoint}`);
    expect(ids).toContain('serial-unix/routed-gdb');
    expect(ids).toContain('kdrpc-vmx/routed-gdb');
    expect(ENDPOINT_URIS['routed-gdb']).toBe('gdb://127.0.0.1:0');
  });

  it('reads through the GDB remote endpoint with an RSP client: attach, monitor round trips, a verified read, break-ins', async ({ skip }) => {
    const missing = skipUnlessCapable('unix-sockets');
    skip(missing !== undefined, missing);
    const result = await runCell({
      guest: 'serial-unix',
      endpoint: 'routed-gdb',
      workload: { readBytes: 1024 * 1024, latencySamples: 20, breakinSamples: 2, warmupBytes: 64 * 1024, steps: 0, breakpointSamples: 0, readyRuns: 0 },
      description: 'test',
      guestUri: GUEST_URIS['serial-unix'],
      endpointUri: ENDPOINT_URIS['routed-gdb'],
      timeoutMs: 20_000,
    });
    expect(result.status, result.reason).toBe('ok');
    expect(result.verified).toBe(true);
    expect(result.latencyMs?.count).toBe(20);
    expect(result.breakinMs?.count).toBe(2);
    // 1 MiB of memory crossed the guest wire as KD reads (plus the monitor's GetVersions).
    expect(result.wireBytes).toBeGreaterThan(1024 * 1024);
  }, 120_000);
});
