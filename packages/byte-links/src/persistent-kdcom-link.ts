import { Observable, Subject, type Subscription } from 'rxjs';
import {
  LinkErrorCode,
  VmkdError,
  createHeldEvents,
  createKdcomLink,
  emptyLinkStats,
  isVmkdError,
  type ByteLink,
  type KdPacket,
  type KdcomLinkOptions,
  type LinkEvent,
  type LinkRole,
  type LinkStats,
  type PacketLink,
} from '@vmkd/kd-protocol';

/** What to do with a connection that arrives while another peer is attached. */
export type BusyPolicy =
  /** Close the newcomer at once and report a `refused` notice; the attached peer keeps the link. */
  | 'refuse'
  /** Drop the attached peer (it gets a `disconnect`) and attach the newcomer. */
  | 'replace';

/** Things worth telling a user that are not KD link events. */
export type LinkNotice =
  | { readonly kind: 'refused'; readonly peer: string; readonly reason: string }
  | { readonly kind: 'replaced'; readonly peer: string; readonly by: string }
  /**
   * An attempt to (re)open the peer failed. `retryInMs` is -1 when no retry follows; `attempt`
   * counts consecutive failures (1 for the first) and `maxAttempts` is the limit, if there is one.
   */
  | {
      readonly kind: 'connect-failed';
      readonly error: VmkdError;
      readonly retryInMs: number;
      readonly attempt?: number;
      readonly maxAttempts?: number;
    };

export interface PersistentKdcomLinkOptions {
  name: string;
  role: LinkRole;
  /** The byte links to speak KDCOM over, one after another: accepted connections or reconnects. */
  byteLinks$: Observable<ByteLink>;
  /** Per-connection KDCOM options (role and name are set from this link's). */
  kdcom?: Omit<KdcomLinkOptions, 'role' | 'name'>;
  /** Default `refuse`. */
  whenBusy?: BusyPolicy;
  /** How long send(), breakIn() and resync() wait for a peer while none is attached. Default 30 000 ms. */
  waitForPeerMs?: number;
  /** Extra notices to merge in (e.g. failed reconnect attempts). */
  notices$?: Observable<LinkNotice>;
  /** Called once by close(), after the byte-link source is unsubscribed (close a listener, stop retrying). */
  onClose?: () => Promise<void>;
}

/** A PacketLink that outlives its connections: debugger after debugger, or a VM's socket coming back. */
export interface PersistentKdcomLink extends PacketLink {
  /** Refused, replaced and failed connections, for logs and status lines. */
  readonly notices$: Observable<LinkNotice>;
  /** How many connections have been attached so far. */
  readonly connections: number;
}

interface Attached {
  readonly byteLink: ByteLink;
  readonly link: PacketLink;
  readonly subscription: Subscription;
}

interface QueuedSend {
  readonly packet: KdPacket;
  resolve(): void;
  reject(error: unknown): void;
}

const DEFAULT_WAIT_FOR_PEER_MS = 30_000;

/**
 * Run KDCOM over a succession of byte links behind one PacketLink. Each connection gets a fresh
 * KDCOM link state (ids, ACKs), so a new debugger's RESET is answered by the link layer as for any
 * peer; this link reports `connect` when a byte link is attached and `disconnect` when it goes, and
 * never resets or resumes the other side of a route on its own.
 *
 * Sends are FIFO and stop-and-wait. A send made while no peer is attached waits up to
 * `waitForPeerMs` for one (then `ERR_LINK_TIMEOUT`); a send cut short by a disconnect is carried
 * to the next connection, where KDCOM delivers it after that peer's RESET exchange.
 */
export function createPersistentKdcomLink(options: PersistentKdcomLinkOptions): PersistentKdcomLink {
  const { name, role } = options;
  const whenBusy = options.whenBusy ?? 'refuse';
  const waitForPeerMs = options.waitForPeerMs ?? DEFAULT_WAIT_FOR_PEER_MS;
  // Held until the first subscriber (PacketLink rule): a debugger's connect must not be lost.
  const events = createHeldEvents<LinkEvent>();
  const notices = new Subject<LinkNotice>();
  const finishedStats: LinkStats = emptyLinkStats();
  const queue: QueuedSend[] = [];
  const peerWaiters = new Set<() => void>();
  let current: Attached | undefined;
  /** What the target session last said (setTargetRunning), handed to every connection's KDCOM link. */
  let targetRunning: boolean | undefined;
  let connections = 0;
  let closed = false;
  let pumping = false;
  let closePromise: Promise<void> | undefined;

  function closedError(): VmkdError {
    return new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true });
  }

  function notify(notice: LinkNotice): void {
    if (!closed) notices.next(notice);
  }

  function attach(byteLink: ByteLink): void {
    if (closed) {
      void byteLink.close();
      return;
    }
    if (current !== undefined) {
      if (whenBusy === 'refuse') {
        notify({ kind: 'refused', peer: byteLink.name, reason: `${current.byteLink.name} is attached; one peer at a time` });
        void byteLink.close();
        return;
      }
      notify({ kind: 'replaced', peer: current.byteLink.name, by: byteLink.name });
      detach(current);
    }
    const link = createKdcomLink(byteLink, { ...options.kdcom, role, name: `${name}<-${byteLink.name}` });
    if (targetRunning !== undefined) link.setTargetRunning?.(targetRunning);
    const attached: Attached = {
      byteLink,
      link,
      subscription: link.events$.subscribe({
        next: (event) => {
          if (current !== attached) return;
          // Our own connect/disconnect frame each connection; the per-connection ones are dropped.
          if (event.kind === 'disconnect') detach(attached, event.error);
          else if (event.kind !== 'connect') events.next(event);
        },
      }),
    };
    current = attached;
    connections += 1;
    events.next({ kind: 'connect', peer: byteLink.name });
    for (const wake of peerWaiters) wake();
    peerWaiters.clear();
  }

  function detach(attached: Attached, error?: VmkdError): void {
    if (current !== attached) return;
    current = undefined;
    attached.subscription.unsubscribe();
    addStats(finishedStats, attached.link.stats());
    void attached.link.close();
    if (!closed) events.next(error === undefined ? { kind: 'disconnect' } : { kind: 'disconnect', error });
  }

  /** The attached link, or wait up to waitForPeerMs for one. */
  function attachedLink(): Promise<Attached> {
    if (closed) return Promise.reject(closedError());
    if (current !== undefined) return Promise.resolve(current);
    return new Promise<Attached>((resolve, reject) => {
      const timer = setTimeout(() => {
        peerWaiters.delete(wake);
        reject(
          new VmkdError(LinkErrorCode.Timeout, `${name}: no peer attached within ${waitForPeerMs} ms`, {
            details: { waitForPeerMs },
          }),
        );
      }, waitForPeerMs);
      const wake = (): void => {
        clearTimeout(timer);
        if (closed || current === undefined) reject(closedError());
        else resolve(current);
      };
      peerWaiters.add(wake);
    });
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    while (queue.length > 0 && !closed) {
      const item = queue[0];
      // Attached already (every packet but the first after a connect): no wait, no extra turn.
      let attached: Attached | undefined = current;
      if (attached === undefined) {
        try {
          attached = await attachedLink();
        } catch (error) {
          queue.shift();
          item.reject(error);
          continue;
        }
      }
      try {
        await attached.link.send(item.packet);
        queue.shift();
        item.resolve();
      } catch (error) {
        if (closed) break;
        const lostPeer = current !== attached || (isVmkdError(error) && (error.disconnected || error.canceled));
        if (lostPeer) {
          // Carry it to the next connection; make sure this one is gone.
          detach(attached, isVmkdError(error) ? error : undefined);
          continue;
        }
        queue.shift();
        item.reject(error);
      }
    }
    pumping = false;
  }

  function roleCheck(what: string): VmkdError | undefined {
    return role === 'target-facing'
      ? undefined
      : new VmkdError(LinkErrorCode.Unsupported, `${name}: ${what}() is only available on target-facing links`);
  }

  async function control(what: 'breakIn' | 'resync'): Promise<void> {
    const error = roleCheck(what);
    if (error !== undefined) throw error;
    const attached = await attachedLink();
    await (what === 'breakIn' ? attached.link.breakIn() : attached.link.resync());
  }

  const source = options.byteLinks$.subscribe({
    next: attach,
    error: (error: unknown) => {
      // The source failed for good (a listener died); report it and leave the link unattached.
      notify({
        kind: 'connect-failed',
        error: isVmkdError(error) ? error : new VmkdError(LinkErrorCode.Disconnected, `${name}: source failed`, { cause: error }),
        retryInMs: -1,
      });
    },
  });
  const extraNotices = options.notices$?.subscribe((notice) => notify(notice));

  return {
    name,
    role,
    events$: events.events$,
    notices$: notices.asObservable(),
    get connected() {
      return current !== undefined && !closed;
    },
    get connections() {
      return connections;
    },
    setTargetRunning(running: boolean): void {
      targetRunning = running;
      current?.link.setTargetRunning?.(running);
    },
    targetRestarted(): void {
      // (A connection made later starts fresh anyway.)
      current?.link.targetRestarted?.();
    },
    send(packet: KdPacket): Promise<void> {
      if (closed) return Promise.reject(closedError());
      // The packet may wait here for a peer (and be carried to the next connection), long after the
      // caller has reused its buffer: keep a copy, unless the caller gave its buffer up (frameInPlace).
      const kept = packet.frameInPlace === true ? packet : { type: packet.type, payload: packet.payload.slice() };
      return new Promise<void>((resolve, reject) => {
        queue.push({ packet: kept, resolve, reject });
        void pump();
      });
    },
    breakIn: () => control('breakIn'),
    resync: () => control('resync'),
    stats(): LinkStats {
      const total = { ...finishedStats };
      if (current !== undefined) addStats(total, current.link.stats());
      return total;
    },
    close(): Promise<void> {
      closePromise ??= (async () => {
        closed = true;
        source.unsubscribe();
        extraNotices?.unsubscribe();
        for (const wake of peerWaiters) wake();
        peerWaiters.clear();
        for (const item of queue.splice(0)) item.reject(closedError());
        const attached = current;
        current = undefined;
        if (attached !== undefined) {
          attached.subscription.unsubscribe();
          addStats(finishedStats, attached.link.stats());
          await attached.link.close();
        }
        await options.onClose?.();
        events.complete();
        notices.complete();
      })();
      return closePromise;
    },
  };
}

function addStats(into: LinkStats, from: LinkStats): void {
  for (const key of Object.keys(into) as (keyof LinkStats)[]) into[key] += from[key];
}
