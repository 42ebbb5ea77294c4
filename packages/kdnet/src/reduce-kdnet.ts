import { KdPacketType, LinkErrorCode, VmkdError, stripSync } from '@vmkd/kd-protocol';
import { decodePoke, decodeResponse, deriveDataKey, encodePoke, encodeResponse, NONCE_SIZE, sameBytes, type UdpAddress } from './control.js';
import { decodeDatagram, encodeDatagram, KdnetChannel, KdnetDirection, type KdnetDatagram } from './datagram.js';
import type { DropReason } from './errors.js';
import { BREAKIN_KD, encodeConnCheck, encodeKdControl, encodeKdData, parseKdFrame, withKdId } from './kd-frame.js';
import {
  HOST_FIRST_ID,
  TARGET_FIRST_ID,
  type KdnetCounters,
  type KdnetEffect,
  type KdnetEvent,
  type KdnetState,
  type KdnetStep,
} from './session-state.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MutableCounters = Omit<Mutable<KdnetCounters>, 'drops'> & { drops: Record<DropReason, number> };
type Draft = Omit<Mutable<KdnetState>, 'stats'> & { stats: MutableCounters };

/** Pokes of ours still answerable: a response to an older one is stale and refused. */
const OPEN_NONCES = 4;
/** How long after a session began a port-0 poke with no data yet is taken as sent before it (see onPoke). */
const STALE_POKE_WINDOW_MS = 1000;

/**
 * The KDNET session reducer, both roles (kdnet.md, kd-protocol.md §3): one event in, the next
 * state and the effects out. Pure but for the injected `config.random`; the shell (kdnet-link.ts)
 * owns the socket and the timer.
 */
export function reduceKdnet(state: KdnetState, event: KdnetEvent): KdnetStep {
  const effects: KdnetEffect[] = [];
  if (state.closed) {
    if (event.kind === 'send' || event.kind === 'resync') effects.push({ kind: 'settle', token: event.token, error: closedError() });
    return { state, effects };
  }
  const d: Draft = { ...state, stats: { ...state.stats, drops: { ...state.stats.drops } } };
  const step = new Step(d, effects);
  switch (event.kind) {
    case 'datagram':
      step.onDatagram(event.bytes, event.from, event.now);
      break;
    case 'send':
      step.onSend(event.token, event.packet.type, event.packet.payload, event.now);
      break;
    case 'breakin':
      if (d.dataKey !== undefined) step.sendBreakin();
      else d.breakinPending = true;
      break;
    case 'resync':
      step.onResync(event.token, event.now);
      break;
    case 'tick':
      step.onTick(event.now);
      break;
    case 'unreachable':
      step.lose(event.error ?? new VmkdError(LinkErrorCode.Disconnected, 'KDNET: the peer is unreachable (ICMP port unreachable)', { disconnected: true }));
      break;
    case 'close':
      d.closed = true;
      step.failAll(event.error);
      d.dataKey = undefined;
      return { state: d, effects };
  }
  effects.push({ kind: 'wake', at: nextWake(d) });
  return { state: d, effects };
}

function nextWake(d: KdnetState): number {
  let at = Infinity;
  if (d.inFlight) at = Math.min(at, d.ackDeadline);
  if (d.resyncTokens.length > 0) at = Math.min(at, d.resyncDeadline);
  if (d.dataKey === undefined && d.queue.length > 0) at = Math.min(at, d.queue[0].expires);
  if (d.config.role === 'endpoint') at = Math.min(at, d.nextPokeAt);
  else if (d.dataKey !== undefined) at = Math.min(at, d.lastHeardAt + d.config.peerTimeoutMs);
  return at;
}

export function peerName(peer: UdpAddress): string {
  return peer.address.includes(':') ? `udp://[${peer.address}]:${peer.port}` : `udp://${peer.address}:${peer.port}`;
}

function closedError(): VmkdError {
  return new VmkdError(LinkErrorCode.Closed, 'KDNET: link closed', { canceled: true });
}

function disconnectedError(message: string, reason: string): VmkdError {
  return new VmkdError(LinkErrorCode.Disconnected, `KDNET: ${message}`, { disconnected: true, details: { reason } });
}

/** One reducer call's working set: the draft state and the effects it collects. */
class Step {
  constructor(
    private readonly d: Draft,
    private readonly effects: KdnetEffect[],
  ) {}

  private get isGuest(): boolean {
    return this.d.config.role === 'guest';
  }

  private get ourDirection(): KdnetDirection {
    return this.isGuest ? KdnetDirection.ToTarget : KdnetDirection.ToDebugger;
  }

  drop(reason: DropReason): void {
    this.d.stats.drops[reason] += 1;
    this.d.stats.badFrames += 1;
  }

  private emit(event: KdnetEffect): void {
    this.effects.push(event);
  }

  private transmit(datagram: KdnetDatagram, aesKey: Uint8Array, to?: UdpAddress): void {
    const peer = to ?? this.d.peer;
    if (peer === undefined) return;
    const bytes = encodeDatagram(datagram, aesKey, this.d.config.keys.hmacKey);
    this.d.stats.bytesOut += bytes.length;
    this.emit({ kind: 'transmit', bytes, to: peer });
  }

  /** A data-channel datagram with a fresh sequence number (never reused, never rewound). */
  transmitKd(kd: Uint8Array): void {
    if (this.d.dataKey === undefined) return;
    const sequence = this.d.sendSeq;
    this.d.sendSeq = sequence + 1;
    this.transmit({ version: this.d.version, channel: KdnetChannel.Data, sequence, direction: this.ourDirection, body: kd }, this.d.dataKey);
  }

  // ---- sending (stop-and-wait, one data packet in flight, FIFO behind it)

  sendBreakin(): void {
    this.d.breakinPending = false;
    this.d.stats.breakins += 1;
    this.transmitKd(BREAKIN_KD);
  }

  onSend(token: number, type: number, payload: Uint8Array, now: number): void {
    // With no peer yet the packet waits for one, up to connectWaitMs (PacketLink rule).
    this.d.queue = [...this.d.queue, { token, type, id: -1, expires: now + this.d.config.connectWaitMs, kd: encodeKdData(type, 0, payload) }];
    this.d.stats.packetsOut += 1;
    this.pump(now);
  }

  private pump(now: number): void {
    if (!this.d.inFlight && this.d.queue.length > 0 && this.d.resyncTokens.length === 0 && this.d.dataKey !== undefined) this.transmitHead(now, false);
  }

  private transmitHead(now: number, retransmit: boolean): void {
    let head = this.d.queue[0];
    if (head.id !== this.d.nextSendId) {
      head = { ...head, id: this.d.nextSendId, kd: withKdId(head.kd, this.d.nextSendId) };
      this.d.queue = [head, ...this.d.queue.slice(1)];
    }
    if (retransmit) this.d.stats.resends += 1;
    this.d.inFlight = true;
    this.d.ackDeadline = now + this.d.config.ackTimeoutMs;
    this.transmitKd(head.kd);
  }

  private acknowledgeHead(now: number): void {
    const [head, ...rest] = this.d.queue;
    this.d.queue = rest;
    this.d.inFlight = false;
    this.d.retries = 0;
    this.d.ackDeadline = Infinity;
    // KD ids count up by two per packet (target 0, 2, 4; host 0x80000000, 0x80000002; kdnet.md §3).
    this.d.nextSendId = (this.d.nextSendId + 2) >>> 0;
    this.d.lastKd = head.kd;
    this.emit({ kind: 'settle', token: head.token });
    this.pump(now);
  }

  failAll(error: VmkdError): void {
    for (const p of this.d.queue) this.emit({ kind: 'settle', token: p.token, error });
    for (const token of this.d.resyncTokens) this.emit({ kind: 'settle', token, error });
    this.d.queue = [];
    this.d.resyncTokens = [];
    this.d.inFlight = false;
    this.d.retries = 0;
    this.d.ackDeadline = Infinity;
    this.d.resyncDeadline = Infinity;
  }

  onResync(token: number, now: number): void {
    this.d.resyncTokens = [...this.d.resyncTokens, token];
    if (this.d.resyncTokens.length > 1) return;
    if (this.d.dataKey === undefined) {
      // Started when the session comes up (startResync), or given up after connectWaitMs.
      this.d.resyncDeadline = now + this.d.config.connectWaitMs;
      return;
    }
    this.startResync(now);
  }

  private startResync(now: number): void {
    this.d.resyncRetries = 0;
    this.d.stats.resyncs += 1;
    this.d.resyncDeadline = now + this.d.config.ackTimeoutMs;
    this.transmitKd(encodeKdControl(KdPacketType.Reset, 0));
  }

  onTick(now: number): void {
    const c = this.d.config;
    if (this.d.dataKey === undefined) {
      const waited = (what: string): VmkdError =>
        new VmkdError(LinkErrorCode.Timeout, `KDNET: no peer connected within ${c.connectWaitMs} ms for ${what}`, { details: { waitedMs: c.connectWaitMs } });
      const expired = this.d.queue.filter((p) => p.expires <= now);
      if (expired.length > 0) {
        this.d.queue = this.d.queue.filter((p) => p.expires > now);
        for (const p of expired) this.emit({ kind: 'settle', token: p.token, error: waited('a send') });
      }
      if (this.d.resyncTokens.length > 0 && now >= this.d.resyncDeadline) {
        for (const token of this.d.resyncTokens) this.emit({ kind: 'settle', token, error: waited('resync') });
        this.d.resyncTokens = [];
        this.d.resyncDeadline = Infinity;
      }
    }
    if (this.d.inFlight && now >= this.d.ackDeadline) {
      if (++this.d.retries <= c.maxRetries) this.transmitHead(now, true);
      else {
        const [head, ...rest] = this.d.queue;
        this.d.queue = rest;
        this.d.inFlight = false;
        this.d.retries = 0;
        this.d.ackDeadline = Infinity;
        const error = new VmkdError(LinkErrorCode.Timeout, `KDNET: packet of type ${head.type} not acknowledged after ${c.maxRetries} retries`, {
          details: { type: head.type, retries: c.maxRetries },
        });
        this.emit({ kind: 'settle', token: head.token, error });
        // A target whose packet nobody acknowledges concludes "debugger not present" (KD spec 1.8).
        if (!this.isGuest) this.lose(disconnectedError('the debugger stopped acknowledging', 'ack-timeout'));
        else this.pump(now);
      }
    }
    if (this.d.dataKey !== undefined && this.d.resyncTokens.length > 0 && now >= this.d.resyncDeadline) {
      if (++this.d.resyncRetries <= c.maxRetries) {
        this.d.resyncDeadline = now + c.ackTimeoutMs;
        this.transmitKd(encodeKdControl(KdPacketType.Reset, 0));
      } else {
        const error = new VmkdError(LinkErrorCode.Timeout, 'KDNET: the target did not answer RESET', { details: { retries: c.maxRetries } });
        for (const token of this.d.resyncTokens) this.emit({ kind: 'settle', token, error });
        this.d.resyncTokens = [];
        this.d.resyncDeadline = Infinity;
        this.pump(now);
      }
    }
    if (!this.isGuest && now >= this.d.nextPokeAt) {
      this.sendPoke();
      this.d.nextPokeAt = now + c.pokeIntervalMs;
    }
    if (this.isGuest && this.d.dataKey !== undefined && now >= this.d.lastHeardAt + c.peerTimeoutMs) {
      this.lose(disconnectedError(`the target has been silent for ${c.peerTimeoutMs} ms (no pokes)`, 'silent'));
    }
  }

  /** A session just came up: what waited for it goes out now. */
  private sessionUp(now: number): void {
    if (this.d.breakinPending) this.sendBreakin();
    if (this.d.resyncTokens.length > 0) this.startResync(now);
    this.pump(now);
  }

  /** The session ended (peer gone): fail what is pending, forget the key, report it once. */
  lose(error: VmkdError): void {
    if (this.d.dataKey === undefined) return;
    this.d.dataKey = undefined;
    this.failAll(error);
    this.resetLink();
    this.d.nonces = [];
    this.emit({ kind: 'event', event: { kind: 'disconnect', error } });
  }

  private resetLink(): void {
    this.d.nextSendId = this.isGuest ? HOST_FIRST_ID : TARGET_FIRST_ID;
    this.d.lastRecvId = undefined;
    this.d.lastKd = undefined;
    this.d.recvSeq = 0;
  }

  // ---- receiving

  onDatagram(bytes: Uint8Array, from: UdpAddress, now: number): void {
    const d = this.d;
    d.stats.bytesIn += bytes.length;
    if (!this.isGuest && d.peer !== undefined && !sameAddress(from, d.peer)) return this.drop('unexpected');
    const keys = d.config.keys;
    const dataKey = d.dataKey;
    const decoded = decodeDatagram(bytes, (channel) => (channel === KdnetChannel.Control ? keys.controlKey : dataKey), keys.hmacKey);
    if (!decoded.ok) {
      if (decoded.reason === 'unexpected' && this.isGuest && dataKey === undefined) this.nudge(bytes[4], from, now);
      return this.drop(decoded.reason);
    }
    if (decoded.direction === this.ourDirection) return this.drop('direction');
    if (decoded.channel === KdnetChannel.Control) {
      if (this.isGuest) this.onPoke(decoded, from, now);
      else this.onResponse(decoded, now);
      return;
    }
    if (d.peer === undefined || !sameAddress(from, d.peer)) return this.drop('unexpected');
    // Sequence numbers only grow; anything not above the highest seen is a replay (kdnet.md §3).
    if (decoded.sequence <= d.recvSeq) return this.drop('replay');
    d.recvSeq = decoded.sequence;
    d.lastHeardAt = now;
    this.onKd(decoded.body, now);
  }

  private onKd(body: Uint8Array, now: number): void {
    const d = this.d;
    const frame = parseKdFrame(body);
    switch (frame.kind) {
      case 'breakin':
        if (this.isGuest) return this.drop('malformed');
        d.stats.breakins += 1;
        this.emit({ kind: 'event', event: { kind: 'breakin' } });
        return;
      case 'conncheck':
        // The target's first data datagram; the host answers it with RESEND (libKDNET capture).
        if (this.isGuest) this.transmitKd(encodeKdControl(KdPacketType.Resend, 0));
        return;
      case 'bad':
        this.drop('malformed');
        // A damaged data packet is worth a RESEND; nobody retransmits anything else.
        if (frame.reason === 'checksum') this.transmitKd(encodeKdControl(KdPacketType.Resend, 0));
        return;
      case 'control':
        return this.onControl(frame.type, frame.id, now);
      case 'data':
        // While our RESET is unanswered the peer is about to retransmit what it has in flight:
        // take nothing now, or that packet would be delivered twice (KD spec 1.6, as KDCOM does).
        if (d.resyncTokens.length > 0) return;
        this.transmitKd(encodeKdControl(KdPacketType.Acknowledge, frame.id));
        if (frame.id === d.lastRecvId) {
          // The peer missed our ACK and sent it again (WinDbg re-sends a request after ~0.5 s):
          // ACK again, never deliver twice; a target re-sends the reply it has in flight.
          d.stats.duplicates += 1;
          if (!this.isGuest && d.inFlight) this.transmitHead(now, true);
          return;
        }
        d.lastRecvId = frame.id;
        d.stats.packetsIn += 1;
        this.emit({ kind: 'event', event: { kind: 'packet', packet: { type: frame.type, payload: frame.payload } } });
        return;
    }
  }

  private onControl(type: number, id: number, now: number): void {
    const d = this.d;
    switch (type) {
      case KdPacketType.Acknowledge:
        d.stats.acks += 1;
        // The exact id, or the id with bit 11 (SYNC) cleared: radare2 ACKs every packet with
        // `id & ~0x800`, and KD ids counting by two reach 0x800 at a target's 1,025th packet
        // (kd-protocol.md §1.5: a target accepts either form).
        if (d.inFlight && (id === d.queue[0].id || id === stripSync(d.queue[0].id))) this.acknowledgeHead(now);
        return;
      case KdPacketType.Resend:
        if (d.inFlight) this.transmitHead(now, true);
        else if (d.lastKd !== undefined && d.resyncTokens.length === 0) {
          d.stats.resends += 1;
          this.transmitKd(d.lastKd);
        }
        return;
      case KdPacketType.Reset:
        // Ids are counters here, so only the receive side forgets: any id is new after a RESET.
        d.lastRecvId = undefined;
        d.lastKd = undefined;
        if (d.resyncTokens.length > 0) {
          for (const token of d.resyncTokens) this.emit({ kind: 'settle', token });
          d.resyncTokens = [];
          d.resyncDeadline = Infinity;
        } else {
          this.transmitKd(encodeKdControl(KdPacketType.Reset, 0));
          d.stats.resyncs += 1;
          this.emit({ kind: 'event', event: { kind: 'reset' } });
        }
        // Then retransmit whatever was pending (KD spec 1.6).
        if (d.inFlight) this.transmitHead(now, true);
        else this.pump(now);
        return;
      default:
      // Unknown control types are ignored (KD spec 1.6).
    }
  }

  // ---- control channel

  /** Guest: a poke from a target (kdnet.md §2). */
  private onPoke(datagram: KdnetDatagram, from: UdpAddress, now: number): void {
    const d = this.d;
    const poke = decodePoke(datagram.body);
    if (poke === undefined) return this.drop('malformed');
    const connected = d.dataKey !== undefined;
    // A restarted target keeps its address but may pick a new source port; a poke from another
    // address is another machine (two guests sharing a key) and must not take the session over.
    if (connected && normalise(from.address) !== normalise(d.peer!.address)) return this.drop('unexpected');
    if (connected) d.lastHeardAt = now;
    if (connected && poke.hostPort !== undefined && poke.hostPort !== 0) {
      // A keep-alive of the live session. Answering it would re-key the target under the
      // session and break it (ntoseye), so it is only noted. With no session (vmkd restarted
      // while the target kept its old one) it is answered below, which is how we get back in.
      d.stats.keepAlives += 1;
      return;
    }
    if (d.nonces.some((n) => sameBytes(n, poke.nonce))) return this.drop('replay');
    // A target pokes on a timer until a response reaches it, so a poke it sent before ours arrived
    // can follow the one we answered. Such a stale poke comes before the target's first data (its
    // connection check) and soon after the session began; a rebooted target comes back much later
    // (Windows pokes every 3 s), so only then does port 0 mean a new session.
    if (connected && d.recvSeq === 0 && now - d.sessionAt < STALE_POKE_WINDOW_MS) return this.drop('replay');
    const body = encodeResponse(poke.nonce, d.config.random(NONCE_SIZE));
    if (connected) {
      // Port 0 after a session was up: the guest rebooted. Report it going and coming back.
      const error = disconnectedError('the target started a new session (it rebooted)', 'reboot');
      d.dataKey = undefined;
      this.failAll(error);
      this.emit({ kind: 'event', event: { kind: 'disconnect', error } });
    }
    this.resetLink();
    d.peer = from;
    d.version = datagram.version;
    d.nonces = [poke.nonce];
    d.lastHeardAt = now;
    d.sessionAt = now;
    d.stats.pokes += 1;
    d.stats.sessions += 1;
    // The response carries the poke's sequence number and the target's version byte.
    this.transmit(
      { version: datagram.version, channel: KdnetChannel.Control, sequence: datagram.sequence, direction: KdnetDirection.ToTarget, body },
      d.config.keys.controlKey,
    );
    d.dataKey = deriveDataKey(d.config.keys.controlKey, body);
    this.emit({ kind: 'event', event: { kind: 'connect', peer: peerName(from) } });
    this.sessionUp(now);
  }

  /** Endpoint: a debugger's response to one of our pokes, or its empty "poke now" datagram. */
  private onResponse(datagram: KdnetDatagram, now: number): void {
    const d = this.d;
    if (datagram.body.length === 0) {
      d.nextPokeAt = now;
      return;
    }
    const response = decodeResponse(datagram.body);
    if (response === undefined) return this.drop('malformed');
    // Only a response to a poke still open counts; each is accepted once (a replay is refused).
    if (!d.nonces.some((n) => sameBytes(n, response.pokeNonce))) return this.drop('replay');
    if (d.dataKey !== undefined) {
      // A debugger came back (or another one answered): the old session is over.
      const error = disconnectedError('the debugger started a new session', 'new-session');
      d.dataKey = undefined;
      this.failAll(error);
      this.emit({ kind: 'event', event: { kind: 'disconnect', error } });
    }
    this.resetLink();
    d.nonces = [];
    d.stats.sessions += 1;
    d.dataKey = deriveDataKey(d.config.keys.controlKey, datagram.body);
    d.lastHeardAt = now;
    // A target opens the data channel with the 12-byte connection check (kdnet.md §3).
    this.transmitKd(encodeConnCheck(d.peer?.address));
    this.emit({ kind: 'event', event: { kind: 'connect', peer: peerName(d.peer!) } });
    this.sessionUp(now);
  }

  /**
   * Guest: data from a target that keeps a session we do not hold (vmkd restarted under it). An
   * empty control datagram makes `kdnet.dll` poke at once instead of on its 3 s timer (ntoseye);
   * at most one a second, so noise cannot make us flood.
   */
  private nudge(version: number, to: UdpAddress, now: number): void {
    if (now < this.d.nextPokeAt) return;
    this.d.nextPokeAt = now + 1000;
    const sequence = this.d.sendSeq;
    this.d.sendSeq = sequence + 1;
    this.transmit({ version, channel: KdnetChannel.Control, sequence, direction: KdnetDirection.ToTarget, body: new Uint8Array(0) }, this.d.config.keys.controlKey, to);
  }

  private sendPoke(): void {
    const d = this.d;
    const peer = d.peer;
    if (peer === undefined) return;
    const nonce = d.config.random(NONCE_SIZE);
    d.nonces = [...d.nonces.slice(-(OPEN_NONCES - 1)), nonce];
    const hostPort = d.dataKey !== undefined ? peer.port : 0;
    const body = encodePoke(nonce, d.config.local ?? { address: '0.0.0.0', port: 0 }, peer, hostPort);
    const sequence = d.pokeSeq;
    d.pokeSeq = sequence + 1;
    d.stats.pokes += 1;
    this.transmit({ version: d.version, channel: KdnetChannel.Control, sequence, direction: KdnetDirection.ToDebugger, body }, d.config.keys.controlKey);
  }
}

function sameAddress(a: UdpAddress, b: UdpAddress): boolean {
  return a.port === b.port && normalise(a.address) === normalise(b.address);
}

function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
