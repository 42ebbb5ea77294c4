import { catchError, from, map, merge, mergeMap, of, takeLast, defaultIfEmpty, type Observable, type ObservableInput } from 'rxjs';
import { boundedConcatMap, type BoundedConcatMapOptions } from './bounded-concat-map.js';

/** What became of one item a pump handled. */
export type PumpOutcome<T> =
  | { readonly kind: 'sent'; readonly item: T }
  | { readonly kind: 'failed'; readonly item: T; readonly error: unknown }
  | { readonly kind: 'breakin' }
  | { readonly kind: 'breakin-failed'; readonly error: unknown };

/**
 * One direction of a route: items sent one at a time, in order, each send awaited before the next
 * starts (stop-and-wait, so a slow receiver slows this direction), with a bounded queue in front.
 * A failed send becomes a `failed` outcome; the pump carries on with the next item.
 */
export function pumpPackets$<T>(
  items$: Observable<T>,
  send: (item: T) => ObservableInput<unknown>,
  options: BoundedConcatMapOptions<T>,
): Observable<PumpOutcome<T>> {
  return items$.pipe(
    boundedConcatMap(
      (item) =>
        from(send(item)).pipe(
          takeLast(1),
          defaultIfEmpty(undefined),
          map((): PumpOutcome<T> => ({ kind: 'sent', item })),
          catchError((error: unknown) => of<PumpOutcome<T>>({ kind: 'failed', item, error })),
        ),
      options,
    ),
  );
}

/**
 * Break-ins bypass the packet queue: each one calls `breakIn` the moment it arrives, even while a
 * packet is in flight and others wait (kd-protocol spec §5: "forwarded immediately").
 */
export function withBreakinPriority$<T>(
  pump$: Observable<PumpOutcome<T>>,
  breakins$: Observable<unknown>,
  breakIn: () => ObservableInput<unknown>,
): Observable<PumpOutcome<T>> {
  const breaks$ = breakins$.pipe(
    mergeMap(() =>
      from(breakIn()).pipe(
        takeLast(1),
        defaultIfEmpty(undefined),
        map((): PumpOutcome<T> => ({ kind: 'breakin' })),
        catchError((error: unknown) => of<PumpOutcome<T>>({ kind: 'breakin-failed', error })),
      ),
    ),
  );
  return merge(breaks$, pump$);
}
