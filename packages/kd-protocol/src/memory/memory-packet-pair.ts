import { LinkErrorCode, VmkdError } from '../errors.js';
import { createHeldEvents, type HeldEvents } from '../held-events.js';
import { PACKET_MAX_SIZE } from '../kdcom/constants.js';
import { emptyLinkStats, type KdPacket, type LinkEvent, type LinkRole, type LinkStats, type PacketLink } from '../packet-link.js';

export interface MemoryPacketPairOptions {
  /** Names of the target-facing and debugger-facing ends (default `memory:target-facing`, `memory:debugger-facing`). */
  names?: readonly [string, string];
  /** Largest payload send() accepts (default 4000, what KDCOM sends: tests catch what a real link would refuse). */
  maxPayload?: number;
}

/** One end of an in-memory packet pair. `disconnect()` makes the peer see the link vanish. */
export interface MemoryPacketLink extends PacketLink {
  /** Vanish abnormally: the peer gets a `disconnect` event with `ERR_LINK_DISCONNECTED`, then both complete. */
  disconnect(): void;
}

interface End {
  readonly role: LinkRole;
  readonly events: HeldEvents<LinkEvent>;
  readonly stats: LinkStats;
  closed: boolean;
  connected: boolean;
  /** Sends waiting for delivery; rejected if the link goes away first. */
  readonly pending: Set<(error: VmkdError) => void>;
}

/**
 * Two connected packet links, both ends exposed: `[targetFacing, debuggerFacing]`. The first end
 * is what a debugger holds (it can breakIn() and resync()), the second what a target holds.
 * Packets arrive in order on the other end's `events$`, asynchronously; send() resolves once the
 * peer has been handed the packet. breakIn() → `breakin` on the peer, resync() → `reset` on the peer.
 * Each end emits `connect` right after creation; events are held until the first subscriber.
 */
export function createMemoryPacketPair(options: MemoryPacketPairOptions = {}): [MemoryPacketLink, MemoryPacketLink] {
  const [nameT, nameD] = options.names ?? ['memory:target-facing', 'memory:debugger-facing'];
  const maxPayload = options.maxPayload ?? PACKET_MAX_SIZE;
  const t = makeEndState('target-facing');
  const d = makeEndState('debugger-facing');
  return [makeEnd(nameT, t, d, nameD, maxPayload), makeEnd(nameD, d, t, nameT, maxPayload)];
}

function makeEndState(role: LinkRole): End {
  return { role, events: createHeldEvents<LinkEvent>(), stats: emptyLinkStats(), closed: false, connected: true, pending: new Set() };
}

function makeEnd(name: string, self: End, peer: End, peerName: string, maxPayload: number): MemoryPacketLink {
  queueMicrotask(() => {
    if (!self.closed) self.events.next({ kind: 'connect', peer: peerName });
  });

  /** Deliver `event` to the peer one microtask later; resolves once delivered. */
  const deliver = (event: LinkEvent, count: (s: LinkStats) => void): Promise<void> => {
    if (self.closed) return Promise.reject(closedError(name));
    if (!self.connected) return Promise.reject(disconnectedError(name));
    return new Promise<void>((resolve, reject) => {
      self.pending.add(reject);
      queueMicrotask(() => {
        if (!self.pending.delete(reject)) return; // already rejected by close/disconnect
        if (peer.closed || !self.connected) {
          reject(disconnectedError(name));
          return;
        }
        count(peer.stats);
        peer.events.next(event);
        resolve();
      });
    });
  };

  const tearDown = (error: VmkdError): void => {
    for (const reject of self.pending) reject(error);
    self.pending.clear();
  };

  /** The far end went away: tell our subscribers and fail what is in flight. */
  const lose = (end: End, error?: VmkdError): void => {
    if (end.closed || !end.connected) return;
    end.connected = false;
    for (const reject of end.pending) reject(disconnectedError(peerName));
    end.pending.clear();
    end.events.next(error === undefined ? { kind: 'disconnect' } : { kind: 'disconnect', error });
  };

  const link: MemoryPacketLink = {
    name,
    role: self.role,
    events$: self.events.events$,
    get connected() {
      return self.connected && !self.closed;
    },
    send(packet: KdPacket): Promise<void> {
      if (packet.payload.length > maxPayload) {
        return Promise.reject(
          new VmkdError(LinkErrorCode.TooLarge, `${name}: payload of ${packet.payload.length} bytes exceeds ${maxPayload}`, {
            details: { size: packet.payload.length, max: maxPayload },
          }),
        );
      }
      // Copy: the caller may reuse its buffer once send() returns.
      const copy: KdPacket = { type: packet.type, payload: packet.payload.slice() };
      self.stats.packetsOut += 1;
      self.stats.bytesOut += copy.payload.length;
      return deliver({ kind: 'packet', packet: copy }, (s) => {
        s.packetsIn += 1;
        s.bytesIn += copy.payload.length;
      });
    },
    breakIn(): Promise<void> {
      if (self.role !== 'target-facing') return Promise.reject(unsupported(name, 'breakIn'));
      return deliver({ kind: 'breakin' }, (s) => (s.breakins += 1));
    },
    resync(): Promise<void> {
      if (self.role !== 'target-facing') return Promise.reject(unsupported(name, 'resync'));
      self.stats.resyncs += 1;
      return deliver({ kind: 'reset' }, (s) => (s.resyncs += 1));
    },
    stats: () => ({ ...self.stats }),
    close(): Promise<void> {
      if (self.closed) return Promise.resolve();
      self.closed = true;
      tearDown(closedError(name));
      queueMicrotask(() => {
        self.events.complete();
        lose(peer);
      });
      return Promise.resolve();
    },
    disconnect(): void {
      if (self.closed) return;
      self.closed = true;
      tearDown(closedError(name));
      queueMicrotask(() => {
        self.events.complete();
        lose(peer, disconnectedError(peerName));
      });
    },
  };
  return link;
}

function closedError(name: string): VmkdError {
  return new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true });
}

function disconnectedError(name: string): VmkdError {
  return new VmkdError(LinkErrorCode.Disconnected, `${name}: peer disconnected`, { disconnected: true });
}

function unsupported(name: string, what: string): VmkdError {
  return new VmkdError(LinkErrorCode.Unsupported, `${name}: ${what}() is only available on target-facing links`);
}
