import { KdApi } from '@vmkd/kd-protocol';
import { describe, expect, it } from 'vitest';
import { formatFastPathStats, initialFastPathState, reduceFastPath, requestRoute, type FastPathEvent, type FastPathState } from './fast-path-state.js';

const run = (events: FastPathEvent[], from: FastPathState = initialFastPathState) => {
  let state = from;
  const effects = [];
  for (const e of events) {
    const step = reduceFastPath(state, e);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
};

describe('the fast path reducer', () => {
  it('validates each stop at its first read before serving reads from the source', () => {
    const stopped = run([{ kind: 'stop', checkable: true }]);
    expect(stopped.effects).toEqual([{ kind: 'invalidate', cr3: true }]);
    expect(requestRoute(stopped.state, KdApi.ReadVirtualMemory)).toBe('validate');
    expect(requestRoute(stopped.state, KdApi.GetContext)).toBe('guest');
    const validating = run([{ kind: 'validation-started' }], stopped.state);
    expect(requestRoute(validating.state, KdApi.ReadVirtualMemory)).toBe('guest');
    const ok = run([{ kind: 'validated', ok: true }], validating.state);
    expect(ok.effects[0]).toMatchObject({ kind: 'notice', level: 'info' });
    expect(requestRoute(ok.state, KdApi.ReadVirtualMemory)).toBe('source');
    expect(requestRoute(ok.state, KdApi.ReadPhysicalMemory)).toBe('source');
    expect(requestRoute(ok.state, KdApi.SearchMemory)).toBe('source');
    expect(requestRoute(ok.state, KdApi.WriteVirtualMemory)).toBe('guest');
    expect(requestRoute(ok.state, KdApi.FillMemory)).toBe('guest');
  });

  it('stops trusting the source on a resume and after a failed validation', () => {
    const trusted = run([{ kind: 'stop', checkable: true }, { kind: 'validation-started' }, { kind: 'validated', ok: true }]).state;
    const resumed = run([{ kind: 'forwarded', apiNumber: KdApi.ContinueApi2 }], trusted);
    expect(resumed.state.target).toBe('running');
    // The end of a stop is a trace record with the counters; a second resume is not.
    expect(resumed.effects).toEqual([{ kind: 'invalidate', cr3: true }, { kind: 'report', event: 'resumed' }]);
    expect(run([{ kind: 'forwarded', apiNumber: KdApi.ContinueApi2 }], resumed.state).effects).toEqual([{ kind: 'invalidate', cr3: true }]);
    expect(requestRoute(resumed.state, KdApi.ReadVirtualMemory)).toBe('guest');
    const failed = run([{ kind: 'stop', checkable: true }, { kind: 'validation-started' }, { kind: 'validated', ok: false, reason: 'header differs' }], resumed.state);
    expect(failed.state.disabledReason).toBe('header differs');
    expect(failed.effects.slice(-2)).toEqual([
      { kind: 'notice', level: 'warn', text: 'memory fast path disabled: header differs; reads go through KD' },
      { kind: 'report', event: 'disabled', reason: 'header differs' },
    ]);
    expect(requestRoute(failed.state, KdApi.ReadVirtualMemory)).toBe('guest');
    expect(failed.state.stats).toMatchObject({ validationsPassed: 1, validationsFailed: 1 });
  });

  it('invalidates on writes, CR3 only when paging may change, never on reads', () => {
    const trusted = run([{ kind: 'stop', checkable: true }, { kind: 'validation-started' }, { kind: 'validated', ok: true }]).state;
    expect(run([{ kind: 'forwarded', apiNumber: KdApi.WriteVirtualMemory }], trusted).effects).toEqual([{ kind: 'invalidate', cr3: false }]);
    expect(run([{ kind: 'forwarded', apiNumber: KdApi.SetContext }], trusted).effects).toEqual([{ kind: 'invalidate', cr3: true }]);
    expect(run([{ kind: 'forwarded', apiNumber: KdApi.ReadControlSpace }], trusted).effects).toEqual([]);
  });

  it('counts bytes by where they came from', () => {
    const { state } = run([
      { kind: 'served', from: 'source', bytes: 100 },
      { kind: 'served', from: 'kd', bytes: 7 },
      { kind: 'fallback' },
      { kind: 'searched', from: 'source', bytes: 4096 },
      { kind: 'searched', from: 'kd', bytes: 0 },
    ]);
    expect(state.stats).toMatchObject({
      bytesFromSource: 100,
      readsFromSource: 1,
      bytesThroughKd: 7,
      readsThroughKd: 1,
      fallbacks: 1,
      searchesFromSource: 1,
      bytesSearched: 4096,
      searchesThroughKd: 1,
    });
    expect(formatFastPathStats(state.stats)).toBe(
      'memory fast path: 1 hit (100 bytes from the source), 1 miss (7 bytes through KD), 1 fallback; 1 search from the source (4.0 KiB scanned), 1 through KD; validations 0 passed, 0 failed',
    );
  });

  it('passes a stop it cannot check without trusting the source', () => {
    const { state, effects } = run([{ kind: 'stop', checkable: false }]);
    expect(effects).toEqual([{ kind: 'invalidate', cr3: true }]);
    expect(state).toMatchObject({ target: 'stopped', validating: false, trusted: false });
    expect(requestRoute(state, KdApi.ReadVirtualMemory)).toBe('guest');
  });

  it('forgets the stop when the guest goes away', () => {
    const trusted = run([{ kind: 'stop', checkable: true }, { kind: 'validation-started' }, { kind: 'validated', ok: true }]).state;
    expect(run([{ kind: 'disconnect' }], trusted).state).toMatchObject({ target: 'unknown', trusted: false });
  });
});
