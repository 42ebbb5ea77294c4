import { Observable, Subject } from 'rxjs';

/**
 * An event stream that holds what happens before its first subscriber (bounded: the oldest are
 * dropped past `limit`) and is hot afterwards (PacketLink rule; as rxjs's WebSocketSubject
 * buffers until subscribed).
 */
export interface HeldStream<T> {
  readonly events$: Observable<T>;
  next(event: T): void;
  complete(): void;
}

export function createHeldStream<T>(limit = 1024): HeldStream<T> {
  const live = new Subject<T>();
  let held: T[] | null = [];
  let completed = false;
  const events$ = new Observable<T>((subscriber) => {
    if (held === null) return live.subscribe(subscriber);
    const queue = held;
    const subscription = live.subscribe({
      next: (event) => (held === null ? subscriber.next(event) : queue.push(event)),
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
      if (held === null) live.next(event);
      else {
        held.push(event);
        if (held.length > limit) held.shift();
      }
    },
    complete() {
      if (completed) return;
      completed = true;
      live.complete();
    },
  };
}
