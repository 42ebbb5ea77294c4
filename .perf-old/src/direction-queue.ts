import type { DropReason } from './route-events.js';
import { heldDepth, queueDepth, type DirectionState, type QueueItem } from './route-state.js';


export interface OfferResult {
  readonly direction: DirectionState;
  /** The newcomer got in (possibly by evicting `dropped`). */
  readonly accepted: boolean;
  /** The item that lost its place: the newcomer (`rejected`) or an older droppable one (`evicted`). */
  readonly dropped?: { readonly item: QueueItem; readonly reason: DropReason };
}

export interface OfferLimits {
  /** Items in the queue, the one in flight included. */
  readonly bound: number;
  /** Extra items that may wait beyond `bound` instead of being dropped (0: none). */
  readonly hold: number;
  readonly isDroppable: (item: QueueItem) => boolean;
}

/**
 * Put one item in a direction's queue, pure. Within `bound` it simply waits. Beyond it, up to
 * `hold` more wait marked `held` (a debugger is attached: nothing from the kernel may be lost,
 * issue 10 item 5). Beyond both, the oldest waiting droppable item makes room (DbgPrint text, trace
 * buffers: spec §1.8 quick-timeout packets), or else the newcomer is refused: never silently.
 */
export function offer(direction: DirectionState, item: QueueItem, limits: OfferLimits): OfferResult {
  const counters = { ...direction.counters, received: direction.counters.received + 1 };
  const busy = direction.inFlight !== undefined;
  const depth = queueDepth(direction);
  if (!busy || depth < limits.bound) {
    const next = { ...direction, waiting: [...direction.waiting, item], counters };
    return { direction: withHighWater(next), accepted: true };
  }
  const held = heldDepth(direction);
  if (held < limits.hold) {
    const heldItem: QueueItem = { ...item, held: true };
    const next = {
      ...direction,
      waiting: [...direction.waiting, heldItem],
      counters: { ...counters, held: counters.held + 1, heldHighWater: Math.max(counters.heldHighWater, held + 1) },
    };
    return { direction: next, accepted: true };
  }
  const victim = direction.waiting.findIndex(limits.isDroppable);
  if (victim < 0) {
    return { direction: { ...direction, counters: { ...counters, dropped: counters.dropped + 1 } }, accepted: false, dropped: { item, reason: 'rejected' } };
  }
  const evicted = direction.waiting[victim];
  // The newcomer takes the evicted item's class (bounded or held), so neither count grows.
  const waiting = [...direction.waiting.slice(0, victim), ...direction.waiting.slice(victim + 1), { ...item, held: evicted.held }];
  return { direction: { ...direction, waiting, counters: { ...counters, dropped: counters.dropped + 1 } }, accepted: true, dropped: { item: evicted, reason: 'evicted' } };
}

/** Take the next waiting item into flight, if the direction is idle. */
export function startNext(direction: DirectionState): { direction: DirectionState; started?: QueueItem } {
  if (direction.inFlight !== undefined || direction.waiting.length === 0) return { direction };
  const [started, ...waiting] = direction.waiting as [QueueItem, ...QueueItem[]];
  return { direction: { ...direction, waiting, inFlight: started }, started };
}

function withHighWater(direction: DirectionState): DirectionState {
  const depth = queueDepth(direction);
  if (depth <= direction.counters.queueHighWater) return direction;
  return { ...direction, counters: { ...direction.counters, queueHighWater: depth } };
}
