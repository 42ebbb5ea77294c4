import { Observable, from, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

/** Why an item never reached `project`. */
export type DropReason =
  /** The queue was full and this item was the one refused. */
  | 'rejected'
  /** The queue was full and a more important item took this (droppable) item's place. */
  | 'evicted';

export interface BoundedConcatMapOptions<T> {
  /** Items allowed to wait behind the one in flight (≥ 0). Depth = waiting + in flight ≤ capacity + 1. */
  readonly capacity: number;
  /** Items that may be sacrificed for more important ones (DbgPrint text, trace buffers). */
  readonly isDroppable?: (item: T) => boolean;
  readonly onDrop?: (item: T, reason: DropReason) => void;
  /** Called with the new depth (waiting + in flight) whenever it changes. */
  readonly onDepth?: (depth: number) => void;
}

/**
 * `concatMap` with a bounded queue: one inner observable at a time, in arrival order, at most
 * `capacity` items waiting.
 *
 * Plain `concatMap` buffers without limit and hides its buffer, so a flooding source would grow
 * memory for ever and nothing could choose *what* to drop. Here, when the queue is full, the oldest
 * waiting droppable item makes room for the newcomer; if nothing waiting is droppable, the newcomer
 * is refused. Both are reported through `onDrop`, never silently.
 *
 * Completes once the source has completed and the queue has drained. Errors from the source or an
 * inner observable propagate (the route maps send failures to values before they get here).
 */
export function boundedConcatMap<T, R>(
  project: (item: T) => ObservableInput<R>,
  options: BoundedConcatMapOptions<T>,
): OperatorFunction<T, R> {
  const { capacity, isDroppable = () => false, onDrop = () => undefined, onDepth = () => undefined } = options;
  if (!Number.isInteger(capacity) || capacity < 0) {
    throw new RangeError(`boundedConcatMap: capacity must be a non-negative integer, got ${String(capacity)}`);
  }
  return (source) =>
    new Observable<R>((subscriber) => {
      const waiting: T[] = [];
      let inner: Subscription | undefined;
      let sourceDone = false;
      const depth = (): number => waiting.length + (inner === undefined ? 0 : 1);

      const startNext = (): void => {
        while (inner === undefined && waiting.length > 0 && !subscriber.closed) {
          const item = waiting.shift() as T;
          let finishedSynchronously = false;
          const sub = from(project(item)).subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              finishedSynchronously = true;
              if (inner !== undefined) {
                inner = undefined;
                onDepth(depth());
                startNext();
              }
            },
          });
          if (!finishedSynchronously) {
            inner = sub;
          } else {
            onDepth(depth());
          }
        }
        if (inner === undefined && waiting.length === 0 && sourceDone) subscriber.complete();
      };

      const sourceSub = source.subscribe({
        next: (item) => {
          if (inner !== undefined && waiting.length >= capacity) {
            const victim = waiting.findIndex((queued) => isDroppable(queued));
            if (victim >= 0) {
              const [evicted] = waiting.splice(victim, 1);
              onDrop(evicted, 'evicted');
            } else {
              onDrop(item, 'rejected');
              return;
            }
          }
          waiting.push(item);
          onDepth(depth());
          startNext();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          startNext();
        },
      });

      return () => {
        sourceSub.unsubscribe();
        inner?.unsubscribe();
        inner = undefined;
        waiting.length = 0;
      };
    });
}
