import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { planMatrix } from '../matrix.js';
import { runCell } from '../run-cell.js';
import { openBenchGuest } from './opened-guest.js';

// Both cells carry the guest's serial line over a Unix socket (`line=unix`).
const noUnixSockets = skipUnlessCapable('unix-sockets');
const itOverUnix = it.skipIf(noUnixSockets !== undefined);

describe('the memory fast path cells', () => {
  it('are planned beside the serial-unix cells they are compared with, with ids of their own', () => {
    const cells = planMatrix({ quick: true });
    const ids = cells.map((c) => c.id ?? `${c.guest}/${c.endpoint}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['serial-unix/routed-inproc', 'serial-unix+memory/routed-inproc', 'serial-unix+memory/routed-unix']));
    const only = planMatrix({ quick: true, only: ['serial-unix+memory'] });
    expect(only.map((c) => c.id)).toEqual(['serial-unix+memory/routed-inproc', 'serial-unix+memory/routed-unix']);
    expect(only[0]?.guestUri).toMatch(/^sim:\/\/\?via=serial&line=unix&baud=0&.*&ram=\{tmp\}\/sim\.ram$/);
  });

  itOverUnix(titleWithSkip('reads through the route from the RAM file, verified, and counts it', noUnixSockets), { timeout: 120_000 }, async () => {
    const spec = planMatrix({ quick: true, only: ['serial-unix+memory/routed-unix'] })[0];
    const result = await runCell({ ...spec, workload: { readBytes: 1 << 20, latencySamples: 5, breakinSamples: 1, warmupBytes: 0, steps: 0, breakpointSamples: 0, readyRuns: 0 }, timeoutMs: 20_000 });
    expect(result).toMatchObject({ id: 'serial-unix+memory/routed-unix', status: 'ok', verified: true });
    expect(result.fastPath).toMatchObject({ bytesThroughKd: 0, validationsFailed: 0 });
    expect(result.fastPath!.bytesFromSource).toBeGreaterThanOrEqual(1 << 20);
  });

  itOverUnix(titleWithSkip('gives {tmp} in a guest URI a private directory and removes it with the guest', noUnixSockets), { timeout: 120_000 }, async () => {
    const spec = planMatrix({ quick: true, only: ['serial-unix+memory/routed-inproc'] })[0];
    const guest = await openBenchGuest(spec.guestUri);
    const ram = /RAM in (\S+sim\.ram)/.exec(guest.opened.description)?.[1];
    expect(ram).toBeDefined();
    expect(existsSync(ram!)).toBe(true);
    await guest.close();
    expect(existsSync(dirname(ram!))).toBe(false);
  });
});
