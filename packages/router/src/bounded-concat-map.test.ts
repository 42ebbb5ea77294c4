import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { boundedConcatMap, type DropReason } from './bounded-concat-map.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('boundedConcatMap', () => {
  it('runs one inner at a time, in arrival order', () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot('  a-b-c------------|');
      const inner = (x: string) => cold<string>('---(y|)', { y: x.toUpperCase() });
      // a finishes at 3, b starts at 3 and finishes at 6, c at 9; completion waits for the drain.
      const expected = '  ---A--B--C-------|';
      expectObservable(source.pipe(boundedConcatMap(inner, { capacity: 4 }))).toBe(expected, { A: 'A', B: 'B', C: 'C' });
    });
  });

  it('waits for the queue to drain before completing', () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot('ab|');
      const inner = (x: string) => cold<string>('--(y|)', { y: x });
      expectObservable(source.pipe(boundedConcatMap(inner, { capacity: 4 }))).toBe('--a-(b|)');
    });
  });

  it('refuses newcomers when the queue is full of undroppable items, and reports them', () => {
    scheduler().run(({ hot, cold, expectObservable, flush }) => {
      const drops: [string, DropReason][] = [];
      const depths: number[] = [];
      const source = hot('abcd-------------|');
      const inner = (x: string) => cold<string>('----(y|)', { y: x });
      // capacity 2: a in flight, b and c wait, d is refused.
      const out = source.pipe(boundedConcatMap(inner, { capacity: 2, onDrop: (x, r) => drops.push([x, r]), onDepth: (d) => depths.push(d) }));
      expectObservable(out).toBe('----a---b---c----|');
      flush();
      expect(drops).toEqual([['d', 'rejected']]);
      expect(Math.max(...depths)).toBe(3);
    });
  });

  it('evicts the oldest droppable item to make room for a more important one', () => {
    scheduler().run(({ hot, cold, expectObservable, flush }) => {
      const drops: [string, DropReason][] = [];
      const source = hot('apqS----------|');
      const inner = (x: string) => cold<string>('---(y|)', { y: x });
      // a in flight; p and q (droppable prints) wait; S (a state change) evicts p.
      const out = source.pipe(
        boundedConcatMap(inner, { capacity: 2, isDroppable: (x) => x === 'p' || x === 'q', onDrop: (x, r) => drops.push([x, r]) }),
      );
      expectObservable(out).toBe('---a--q--S----|');
      flush();
      expect(drops).toEqual([['p', 'evicted']]);
    });
  });

  it('with capacity 0 holds only the item in flight', () => {
    scheduler().run(({ hot, cold, expectObservable }) => {
      const source = hot('ab---c---|');
      const inner = (x: string) => cold<string>('--(y|)', { y: x });
      expectObservable(source.pipe(boundedConcatMap(inner, { capacity: 0 }))).toBe('--a----c-|');
    });
  });

  it('rejects a negative or fractional capacity', () => {
    expect(() => boundedConcatMap(() => [], { capacity: -1 })).toThrow(RangeError);
    expect(() => boundedConcatMap(() => [], { capacity: 1.5 })).toThrow(RangeError);
  });
});
