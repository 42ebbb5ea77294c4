import { Subject, type Subscription } from 'rxjs';
import { LinkErrorCode, VmkdError, emptyLinkStats, type KdPacket, type LinkEvent, type LinkRole, type LinkStats, type PacketLink } from '@vmkd/kd-protocol';

/**
 * One PacketLink whose peer can come and go: what an endpoint that accepts debugger after debugger
 * (dbgeng-pipe) or a guest socket that a VM reconnects to looks like to the router. Each attached
 * link is a real one (a memory pair end, a KDCOM link over a socket); this only switches between
 * them, so the router's reconnect handling can be tested without those packages.
 *
 * Sends made while no peer is attached wait for the next attach, up to `sendTimeoutMs`.
 */
export interface SwitchableLink extends PacketLink {
  attach(inner: PacketLink): void;
  readonly attached: PacketLink | undefined;
}

interface Waiting {
  readonly packet: KdPacket;
  resolve(): void;
  reject(error: VmkdError): void;
  timer: NodeJS.Timeout;
}

export function createSwitchableLink(role: LinkRole, name: string, sendTimeoutMs = 2000): SwitchableLink {
  const events = new Subject<LinkEvent>();
  const base: LinkStats = emptyLinkStats();
  let current: { link: PacketLink; sub: Subscription } | undefined;
  let waiting: Waiting[] = [];
  let closed = false;

  const detach = (): void => {
    if (current === undefined) return;
    const { link, sub } = current;
    // Keep the counters of links that have gone, so stats() covers the whole life of the endpoint.
    const s = link.stats();
    for (const key of Object.keys(base) as (keyof LinkStats)[]) base[key] += s[key];
    sub.unsubscribe();
    current = undefined;
  };

  const flush = (): void => {
    const queued = waiting;
    waiting = [];
    for (const w of queued) {
      clearTimeout(w.timer);
      send(w.packet).then(() => w.resolve(), (error: VmkdError) => w.reject(error));
    }
  };

  const send = (packet: KdPacket): Promise<void> => {
    if (closed) return Promise.reject(new VmkdError(LinkErrorCode.Closed, `${name}: closed`, { canceled: true }));
    if (current !== undefined) return current.link.send(packet);
    return new Promise<void>((resolve, reject) => {
      const entry: Waiting = {
        packet,
        resolve,
        reject,
        timer: setTimeout(() => {
          waiting = waiting.filter((w) => w !== entry);
          reject(new VmkdError(LinkErrorCode.Timeout, `${name}: no peer within ${sendTimeoutMs} ms`));
        }, sendTimeoutMs),
      };
      waiting.push(entry);
    });
  };

  return {
    name,
    role,
    events$: events.asObservable(),
    get connected() {
      return current?.link.connected ?? false;
    },
    get attached() {
      return current?.link;
    },
    attach(inner) {
      detach();
      const sub = inner.events$.subscribe({
        next: (event) => {
          // attach() itself reports the connect: the inner link's own may have fired before anyone listened.
          if (current?.link !== inner || event.kind === 'connect') return;
          events.next(event);
          if (event.kind === 'disconnect') detach();
        },
        complete: () => {
          if (current?.link !== inner) return;
          detach();
          events.next({ kind: 'disconnect' });
        },
      });
      current = { link: inner, sub };
      events.next({ kind: 'connect', peer: inner.name });
      flush();
    },
    send,
    breakIn: () => current?.link.breakIn() ?? Promise.reject(new VmkdError(LinkErrorCode.Disconnected, `${name}: no peer`)),
    resync: () => current?.link.resync() ?? Promise.reject(new VmkdError(LinkErrorCode.Disconnected, `${name}: no peer`)),
    stats() {
      const s = current?.link.stats() ?? emptyLinkStats();
      const out = { ...base };
      for (const key of Object.keys(out) as (keyof LinkStats)[]) out[key] += s[key];
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of waiting) {
        clearTimeout(w.timer);
        w.reject(new VmkdError(LinkErrorCode.Closed, `${name}: closed`, { canceled: true }));
      }
      waiting = [];
      const link = current?.link;
      detach();
      await link?.close();
      events.complete();
    },
  };
}
