import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { pumpPackets$, withBreakinPriority$, type PumpOutcome } from './pump.js';

const label = (o: PumpOutcome<string>): string => {
  switch (o.kind) {
    case 'sent':
      return o.item;
    case 'failed':
      return o.item.toUpperCase();
    case 'breakin':
      return 'B';
    case 'breakin-failed':
      return 'X';
  }
};

describe('pumpPackets$', () => {
  it('sends in order, one at a time, and turns a failed send into a value without stopping', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ hot, cold, expectObservable }) => {
      const items = hot('abc-------|');
      const send = (x: string) => (x === 'b' ? cold('-#', undefined, new Error('nak')) : cold('--(v|)'));
      const out = pumpPackets$(items, send, { capacity: 4 }).pipe(map(label));
      expectObservable(out).toBe('--aB-c----|');
    });
  });
});

describe('withBreakinPriority$', () => {
  it('breaks in the moment the request arrives, while packets wait behind a slow send', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ hot, cold, expectObservable }) => {
      const items = hot('  ab---------|');
      const breakins = hot('--x--------|');
      const send = () => cold('-----(v|)'); // a slow debugger-facing peer
      const breakIn = () => cold('(v|)'); // the break-in byte goes out at once
      const out = withBreakinPriority$(pumpPackets$(items, send, { capacity: 4 }), breakins, breakIn).pipe(map(label));
      expectObservable(out).toBe('--B--a----b|');
    });
  });

  it('reports a failed break-in and keeps pumping', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ hot, cold, expectObservable }) => {
      const items = hot('   a---b---|');
      const breakins = hot('--x-----|');
      const out = withBreakinPriority$(pumpPackets$(items, () => cold('-(v|)'), { capacity: 4 }), breakins, () => cold('#')).pipe(map(label));
      expectObservable(out).toBe('-aX--b--|');
    });
  });
});
