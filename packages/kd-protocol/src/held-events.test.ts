import { describe, expect, it } from 'vitest';
import { createHeldEvents } from './held-events.js';

describe('createHeldEvents', () => {
  it('hands what happened before the first subscriber to it, in order, then goes live', () => {
    const h = createHeldEvents<number>();
    h.next(1);
    h.next(2);
    const seen: number[] = [];
    h.events$.subscribe((n) => seen.push(n));
    expect(seen).toEqual([1, 2]);
    expect(h.held).toBe(0);
    h.next(3);
    expect(seen).toEqual([1, 2, 3]);
    // Hot from then on: a second subscriber sees only what comes next.
    const late: number[] = [];
    h.events$.subscribe((n) => late.push(n));
    h.next(4);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(late).toEqual([4]);
  });

  it('is bounded: past the limit the oldest held events are dropped and counted', () => {
    const h = createHeldEvents<number>(3);
    for (let i = 0; i < 10; i++) h.next(i);
    expect(h.held).toBe(3);
    expect(h.dropped).toBe(7);
    const seen: number[] = [];
    h.events$.subscribe((n) => seen.push(n));
    expect(seen).toEqual([7, 8, 9]);
  });

  it('holds completion too, after the held events', () => {
    const h = createHeldEvents<string>();
    h.next('a');
    h.complete();
    h.next('ignored');
    const seen: string[] = [];
    let done = false;
    h.events$.subscribe({ next: (s) => seen.push(s), complete: () => (done = true) });
    expect(seen).toEqual(['a']);
    expect(done).toBe(true);
  });

  it('keeps order when the first subscriber reacts to a held event by emitting another', () => {
    const h = createHeldEvents<number>();
    h.next(1);
    h.next(2);
    const seen: number[] = [];
    h.events$.subscribe((n) => {
      seen.push(n);
      if (n === 1) h.next(10);
    });
    expect(seen).toEqual([1, 2, 10]);
  });
});
