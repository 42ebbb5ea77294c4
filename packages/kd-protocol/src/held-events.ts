import { Observable, Subject } from 'rxjs';

/** Default bound on events held for a subscriber that has not arrived yet. */
export const DEFAULT_HELD_EVENTS = 1024;

/**
 * A link's event stream that keeps what happens before anyone listens (PacketLink rule: events
 * before subscription are held). Until the first subscriber arrives, events (and completion) are
 * held, at most `limit` of them; that subscriber gets them first, in order, then the live stream.
 * Later subscribers see only live events (it is hot from then on), as rxjs's `WebSocketSubject`
 * buffers until subscribed. Bounded: past `limit` the oldest held events are dropped and counted
 * in `dropped`, which only happens if nobody ever consumes the link.
 */
export interface HeldEvents<T> {
  readonly events$: Observable<T>;
  next(event: T): void;
  complete(): void;
  /** Events dropped because more than `limit` arrived before the first subscriber. */
  readonly dropped: number;
  /** Events held right now (0 once someone subscribed). */
  readonly held: number;
}

export function createHeldEvents<T>(limit = DEFAULT_HELD_EVENTS): HeldEvents<T> {
  const live = new Subject<T>();
  /** Null once the first subscriber has drained it. */
  let held: T[] | null = [];
  let completed = false;
  let dropped = 0;

  const events$ = new Observable<T>((subscriber) => {
    if (held === null) return live.subscribe(subscriber);
    const queue = held;
    // Events emitted while we replay (a subscriber reacting synchronously) join the end of the queue.
    const subscription = live.subscribe({
      next: (event) => (held === null ? subscriber.next(event) : queue.push(event)),
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        if (held === null) subscriber.complete();
      },
    });
    while (queue.length > 0 && !subscriber.closed) subscriber.next(queue.shift() as T);
    held = null;
    if (completed) subscriber.complete();
    return subscription;
  });

  return {
    events$,
    next(event) {
      if (completed) return;
      if (held === null) {
        live.next(event);
        return;
      }
      held.push(event);
      if (held.length > limit) {
        held.shift();
        dropped += 1;
      }
    },
    complete() {
      if (completed) return;
      completed = true;
      live.complete();
    },
    get dropped() {
      return dropped;
    },
    get held() {
      return held?.length ?? 0;
    },
  };
}
