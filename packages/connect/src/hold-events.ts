import { Observable, Subject } from 'rxjs';
import type { LinkEvent, PacketLink } from '@vmkd/kd-protocol';

/** Events kept while nobody listens (a connect, a state change, some prints); past it the oldest go. */
const HELD_EVENTS = 1024;

/**
 * The link as `connect` hands it out: its events are held from the moment it is opened until the
 * first subscriber comes, then delivered to that subscriber asynchronously, in order, and after
 * that passed straight through (as rxjs's WebSocketSubject buffers until subscribed). Opening a
 * route takes several awaits (the guest, then the endpoint); without this the guest's `connect`
 * and first state change would fire into the void. The asynchronous hand-over also lets whoever
 * subscribed finish wiring up (the CLI subscribes to the route's events right after route()).
 *
 * Bounded: past HELD_EVENTS the oldest held events are dropped and counted in `droppedEvents`.
 */
export function holdEventsUntilSubscribed(link: PacketLink): PacketLink & { readonly droppedEvents: number } {
  const out = new Subject<LinkEvent>();
  let held: LinkEvent[] | undefined = [];
  let ended: { error?: unknown } | undefined;
  let flushScheduled = false;
  let dropped = 0;

  link.events$.subscribe({
    next(event) {
      if (held === undefined) {
        out.next(event);
        return;
      }
      if (held.length >= HELD_EVENTS) {
        held.shift();
        dropped += 1;
      }
      held.push(event);
    },
    error(error: unknown) {
      if (held === undefined) out.error(error);
      else ended = { error };
    },
    complete() {
      if (held === undefined) out.complete();
      else ended = {};
    },
  });

  function flush(): void {
    const queue = held!;
    // Events the link emits while we deliver (a subscriber's reaction) queue behind the held ones.
    while (queue.length > 0) out.next(queue.shift()!);
    held = undefined;
    if (ended !== undefined) {
      if ('error' in ended) out.error(ended.error);
      else out.complete();
    }
  }

  const events$ = new Observable<LinkEvent>((subscriber) => {
    const subscription = out.subscribe(subscriber);
    if (held !== undefined && !flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
    return subscription;
  });

  return {
    get name() {
      return link.name;
    },
    get role() {
      return link.role;
    },
    get connected() {
      return link.connected;
    },
    get droppedEvents() {
      return dropped;
    },
    events$,
    send: (packet) => link.send(packet),
    breakIn: () => link.breakIn(),
    resync: () => link.resync(),
    stats: () => link.stats(),
    close: () => link.close(),
    // Optional capabilities pass through: a KDRPC host wants to hear whether a debugger is attached.
    ...(typeof (link as { setDebuggerPresent?: unknown }).setDebuggerPresent === 'function'
      ? { setDebuggerPresent: (present: boolean) => (link as unknown as { setDebuggerPresent(present: boolean): void }).setDebuggerPresent(present) }
      : {}),
  };
}
