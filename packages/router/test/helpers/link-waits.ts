import { filter, firstValueFrom, map, timeout, type Observable } from 'rxjs';
import type { KdPacket, LinkEvent, PacketLink } from '@vmkd/kd-protocol';

/** Every wait in these tests is bounded: a hang becomes a clear failure, not a stuck run. */
export const WAIT_MS = 5000;

export function nextEvent(link: PacketLink, kind: LinkEvent['kind'], ms = WAIT_MS): Promise<LinkEvent> {
  return firstValueFrom(link.events$.pipe(filter((e) => e.kind === kind), timeout(ms)));
}

export function nextPacket(link: PacketLink, type?: number, ms = WAIT_MS): Promise<KdPacket> {
  return firstValueFrom(
    link.events$.pipe(
      filter((e): e is Extract<LinkEvent, { kind: 'packet' }> => e.kind === 'packet' && (type === undefined || e.packet.type === type)),
      map((e) => e.packet),
      timeout(ms),
    ),
  );
}

/** Collects everything an observable emits, for assertions after the fact. */
export function record<T>(source$: Observable<T>): T[] {
  const seen: T[] = [];
  source$.subscribe((value) => seen.push(value));
  return seen;
}

export const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
