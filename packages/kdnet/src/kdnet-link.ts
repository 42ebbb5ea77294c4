import { randomBytes } from 'node:crypto';
import {
  createHeldEvents,
  KdPacketType,
  KdcomErrorCode,
  LinkErrorCode,
  PACKET_MAX_SIZE,
  VmkdError,
  systemClock,
  type KdPacket,
  type KdcomClock,
  type LinkEvent,
  type LinkRole,
  type LinkStats,
  type PacketLink,
} from '@vmkd/kd-protocol';
import type { UdpAddress } from './control.js';
import { parseKdnetKey } from './key.js';
import { reduceKdnet } from './reduce-kdnet.js';
import { initialKdnetState, type KdnetConfig, type KdnetCounters, type KdnetEvent, type KdnetState } from './session-state.js';
import { openUdpPort, type UdpPort } from './udp-socket.js';
import { KDNET_FRAME_KD_PAYLOAD, splitLargeWrites } from './write-splitter.js';
import { capReads } from './read-cap.js';

/** A KDNET PacketLink: the usual seam plus where it is bound and the KDNET counters. */
export interface KdnetLink extends PacketLink {
  /** The local UDP address (the port filled in when 0 was asked for). */
  readonly local: UdpAddress;
  /** Link counters plus drops by reason, pokes, sessions, duplicates. */
  kdnetStats(): KdnetCounters;
}

/** Tuning shared by both roles. */
export interface KdnetLinkOptions {
  /** The `w.x.y.z` key (bcdedit `key:`, WinDbg `key=`). */
  readonly key: string;
  readonly name?: string;
  readonly clock?: KdcomClock;
  /** Random bytes for nonces; default node:crypto randomBytes. */
  readonly random?: (n: number) => Uint8Array;
  /** Default 1000 ms. */
  readonly ackTimeoutMs?: number;
  /** Default 20. */
  readonly maxRetries?: number;
  /** How long calls made while no peer is connected wait for one; default 10,000 ms. */
  readonly connectWaitMs?: number;
  /** Largest payload send() takes; default 4000 (kd-protocol.md 1.1). */
  readonly maxPayload?: number;
  readonly allowRemote?: boolean;
  /** A UDP port opened by the caller (tests make it vanish); the link owns and closes it. */
  readonly udp?: UdpPort;
  /** Sees every datagram sent and received, as on the wire (a pcap recorder for `vmkd trace`). */
  readonly tap?: DatagramTap;
}

/** Called for each datagram a KDNET link sends (`out`) or receives (`in`). */
export type DatagramTap = (bytes: Uint8Array, from: UdpAddress, to: UdpAddress, direction: 'in' | 'out') => void;

export interface KdnetGuestOptions extends KdnetLinkOptions {
  /** Where the target pokes: bcdedit's `hostip:`/`port:`. Default 127.0.0.1:50000. */
  readonly listen?: UdpAddress;
  /** The target counts as gone after this long without a datagram. Default 10,000 ms (it pokes every ~3 s). */
  readonly peerTimeoutMs?: number;
  /**
   * The largest WriteVirtualMemory/WritePhysicalMemory payload sent to the target in one packet;
   * larger writes go in pieces. Default KDNET_FRAME_KD_PAYLOAD (1,400: one Ethernet frame).
   */
  readonly maxWritePayload?: number;
}

export interface KdnetEndpointOptions extends KdnetLinkOptions {
  /** The debugger we poke: WinDbg's `-k net:port=P` host and port, radare2's `winkd://HOST:PORT`. */
  readonly debugger: UdpAddress;
  /** Our own address. Default: loopback of the debugger's family, any free port. radare2 needs port = the debugger's port. */
  readonly bind?: UdpAddress;
  /** Default 3000 ms, as Windows (kdnet.md §1). */
  readonly pokeIntervalMs?: number;
  /** Protocol version byte of our pokes; default 2. */
  readonly version?: number;
  /**
   * Reads the debugger asks of the target are capped so that the reply carries at most this many
   * payload bytes (KDNET_ENDPOINT_MAX_REPLY: 2,048, the most radare2 takes). Default: no cap.
   */
  readonly maxReplyPayload?: number;
}

/** The guest transport: plays the debugger host toward a Windows `kdnet.dll` (target-facing). */
export async function createKdnetGuestLink(options: KdnetGuestOptions): Promise<KdnetLink> {
  const keys = parseKdnetKey(options.key);
  const listen = options.listen ?? { address: '127.0.0.1', port: 50000 };
  const udp = options.udp ?? (await openUdpPort({ bind: listen, allowRemote: options.allowRemote }));
  const config = baseConfig(options, keys, 'guest', { peerTimeoutMs: options.peerTimeoutMs ?? 10_000, version: 0, pokeIntervalMs: 0 });
  const link = runKdnetLink(udp, config, 'target-facing', options.name ?? `kdnet://${hostPort(udp.local)}`, options.clock ?? systemClock, options.tap);
  // A debugger's large writes go to the target in pieces that fit one Ethernet frame (kdnet.md §3).
  return splitLargeWrites(link, options.maxWritePayload ?? KDNET_FRAME_KD_PAYLOAD);
}

/** The endpoint: plays the target toward a KDNET debugger (debugger-facing). */
export async function createKdnetEndpointLink(options: KdnetEndpointOptions): Promise<KdnetLink> {
  const keys = parseKdnetKey(options.key);
  const bind = options.bind ?? { address: options.debugger.address.includes(':') ? '::1' : '127.0.0.1', port: 0 };
  const udp = options.udp ?? (await openUdpPort({ bind, connectTo: options.debugger, allowRemote: options.allowRemote }));
  const config = baseConfig(options, keys, 'endpoint', {
    peerTimeoutMs: Infinity,
    version: options.version ?? 2,
    pokeIntervalMs: options.pokeIntervalMs ?? 3000,
    peer: options.debugger,
    local: udp.local,
  });
  const link = runKdnetLink(udp, config, 'debugger-facing', options.name ?? `kdnet-endpoint://${hostPort(options.debugger)}`, options.clock ?? systemClock, options.tap);
  // Replies every KDNET debugger takes, whatever target is behind (the `kdnet://` endpoint asks for
  // KDNET_ENDPOINT_MAX_REPLY, radare2's limit); vmkd's own KDNET pair (`sim://?via=kdnet`) needs none.
  return options.maxReplyPayload === undefined ? link : capReads(link, options.maxReplyPayload);
}

function baseConfig(
  options: KdnetLinkOptions,
  keys: KdnetConfig['keys'],
  role: KdnetConfig['role'],
  rest: Pick<KdnetConfig, 'peerTimeoutMs' | 'version' | 'pokeIntervalMs' | 'peer' | 'local'>,
): KdnetConfig {
  return {
    role,
    keys,
    random: options.random ?? ((n) => new Uint8Array(randomBytes(n))),
    ackTimeoutMs: options.ackTimeoutMs ?? 1000,
    maxRetries: options.maxRetries ?? 20,
    connectWaitMs: options.connectWaitMs ?? 10_000,
    maxPayload: Math.min(options.maxPayload ?? PACKET_MAX_SIZE, 4096),
    ...rest,
  };
}

export function hostPort(a: UdpAddress): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/**
 * The shell around `reduceKdnet`: feeds it datagrams, calls and timer ticks one at a time (a
 * mailbox, so a subscriber reacting synchronously never re-enters it), performs its effects, and
 * keeps the one timer it asks for.
 */
function runKdnetLink(udp: UdpPort, config: KdnetConfig, role: LinkRole, name: string, clock: KdcomClock, tap?: DatagramTap): KdnetLink {
  let state: KdnetState = initialKdnetState(config, clock.now());
  // Held until the first subscriber (PacketLink rule), bounded by kd-protocol's default.
  const events = createHeldEvents<LinkEvent>();
  const waiters = new Map<number, { resolve(): void; reject(error: VmkdError): void }>();
  let nextToken = 1;
  let timer: unknown;
  let timerAt = Infinity;
  let closed = false;
  const mailbox: KdnetEvent[] = [];
  let running = false;

  function dispatch(event: KdnetEvent): void {
    mailbox.push(event);
    if (running) return;
    running = true;
    try {
      for (let next = mailbox.shift(); next !== undefined; next = mailbox.shift()) {
        const step = reduceKdnet(state, next);
        state = step.state;
        for (const effect of step.effects) {
          switch (effect.kind) {
            case 'transmit':
              tap?.(effect.bytes, udp.local, effect.to, 'out');
              udp.send(effect.bytes, effect.to);
              break;
            case 'event':
              events.next(effect.event);
              break;
            case 'settle': {
              const waiter = waiters.get(effect.token);
              waiters.delete(effect.token);
              if (effect.error === undefined) waiter?.resolve();
              else waiter?.reject(effect.error);
              break;
            }
            case 'wake':
              arm(effect.at);
              break;
          }
        }
      }
    } finally {
      running = false;
    }
  }

  function arm(at: number): void {
    if (at === timerAt || closed) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    timerAt = at;
    if (at === Infinity) return;
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        timerAt = Infinity;
        dispatch({ kind: 'tick', now: clock.now() });
      },
      Math.max(0, at - clock.now()),
    );
  }

  udp.onMessage((bytes, from) => {
    tap?.(bytes, from, udp.local, 'in');
    dispatch({ kind: 'datagram', bytes, from, now: clock.now() });
  });
  udp.onUnreachable((error) => dispatch({ kind: 'unreachable', now: clock.now(), error }));
  // The endpoint's first poke goes out at once; asynchronously, like every event.
  queueMicrotask(() => {
    if (!closed) dispatch({ kind: 'tick', now: clock.now() });
  });

  function refuse(error: VmkdError): Promise<never> {
    return Promise.reject(error);
  }
  const closedError = (): VmkdError => new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true });
  const targetFacingOnly = (what: string): VmkdError | undefined =>
    role === 'target-facing' ? undefined : new VmkdError(LinkErrorCode.Unsupported, `${name}: ${what}() is only available on target-facing links`);
  const connected = (): boolean => !closed && state.dataKey !== undefined;

  function withToken(make: (token: number) => KdnetEvent): Promise<void> {
    const token = nextToken++;
    const promise = new Promise<void>((resolve, reject) => waiters.set(token, { resolve, reject }));
    dispatch(make(token));
    return promise;
  }

  return {
    name,
    role,
    local: udp.local,
    events$: events.events$,
    get connected() {
      return connected();
    },
    send(packet: KdPacket): Promise<void> {
      if (closed) return refuse(closedError());
      if (packet.payload.length > config.maxPayload) {
        return refuse(
          new VmkdError(LinkErrorCode.TooLarge, `${name}: payload of ${packet.payload.length} bytes exceeds ${config.maxPayload}`, {
            details: { size: packet.payload.length, max: config.maxPayload },
          }),
        );
      }
      if (!Number.isInteger(packet.type) || packet.type <= KdPacketType.Unused || packet.type >= KdPacketType.Max) {
        return refuse(new VmkdError(KdcomErrorCode.BadType, `${name}: packet type ${packet.type} cannot be sent as a data packet`, { details: { type: packet.type } }));
      }
      return withToken((token) => ({ kind: 'send', token, packet, now: clock.now() }));
    },
    breakIn(): Promise<void> {
      if (closed) return refuse(closedError());
      const unsupported = targetFacingOnly('breakIn');
      if (unsupported !== undefined) return refuse(unsupported);
      dispatch({ kind: 'breakin', now: clock.now() });
      return Promise.resolve();
    },
    resync(): Promise<void> {
      if (closed) return refuse(closedError());
      const unsupported = targetFacingOnly('resync');
      if (unsupported !== undefined) return refuse(unsupported);
      return withToken((token) => ({ kind: 'resync', token, now: clock.now() }));
    },
    stats(): LinkStats {
      const { drops: _drops, pokes: _p, keepAlives: _k, sessions: _s, duplicates: _d, acks: _a, ...link } = state.stats;
      return { ...link };
    },
    kdnetStats: () => ({ ...state.stats, drops: { ...state.stats.drops } }),
    async close(): Promise<void> {
      if (closed) return;
      dispatch({ kind: 'close', error: closedError() });
      closed = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      events.complete();
      await udp.close();
    },
  };
}
