import {
  KdRecvCode,
  KdrpcVersion,
  LinkErrorCode,
  VmkdError,
  checkKdrpcTestPattern,
  createHeldEvents,
  decodeKdrpcRequest,
  emptyLinkStats,
  encodeKdrpcReply,
  isVmkdError,
  kdrpcGlobals,
  kdrpcTestPattern,
  systemClock,
  type Clock,
  type KdContext,
  type KdPacket,
  type KdrpcRequest,
  type LinkEvent,
  type LinkStats,
  type PacketLink,
} from '@vmkd/kd-protocol';
import type { RpciHandler } from '../vmx/types.js';
import { KdrpcLinkErrorCode } from './errors.js';

/** The pseudo packet type of `KdCheckForAnyPacket`: the break-in poll. */
const POLL_BREAKIN = 8;
const EMPTY = new Uint8Array(0);

export interface KdrpcHostOptions {
  /** Link name for traces. Default `kdrpc-host`. */
  readonly name?: string;
  /** Version reported in `v` replies. Default 0x07E80003 (Redux 2024.3: current Redux guests require ≥ their own). */
  readonly version?: number;
  /** Oldest guest version accepted. Default 0x07E50000 (what a current Redux host accepts). */
  readonly minGuestVersion?: number;
  /** How long a guest `r` (other than the break-in poll) waits for a debugger packet before TIMEOUT. Default 200 ms. */
  readonly receiveWaitMs?: number;
  /** How long send() waits for the guest to take a packet. Default 10 s. */
  readonly sendTimeoutMs?: number;
  /** No guest call for this long means the guest is gone (`disconnect`). Default 5 s. */
  readonly guestIdleTimeoutMs?: number;
  /** The `KdDebuggerEnabled` byte reported in `globals`. Default 1. */
  readonly kdDebuggerEnabled?: number;
  /** Debugger presence reported in `globals`. Default true. */
  readonly debuggerPresent?: boolean;
  /** Debugger packets queued for the guest at most. Default 64. */
  readonly maxQueuedPackets?: number;
  /** Largest payload send() accepts. Default 4096 (the KD receive limit). */
  readonly maxPayload?: number;
  /** Time for every wait and timeout here (tests pass a virtual clock). Default: the event loop's. */
  readonly clock?: Clock;
}

export interface KdrpcHostStatus {
  readonly connected: boolean;
  /** The version the guest reported in its last `v`, if any. */
  readonly guestVersion: number | undefined;
  readonly versionAccepted: boolean;
  /** `t` calls answered since the last accepted `v`. */
  readonly testsPassed: number;
  readonly calls: { v: number; t: number; r: number; s: number };
  /** Break-in polls answered (with or without a break-in). */
  readonly polls: number;
  /** Bodies answered with an empty reply (malformed, `t` before `v`, version refused). */
  readonly rejected: number;
  /** The reason of the last rejection. */
  readonly lastRejection: string | undefined;
  /** Debugger packets dropped because the guest asked for another type (KDCOM does the same). */
  readonly droppedPackets: number;
  readonly queuedPackets: number;
  readonly debuggerPresent: boolean;
}

/**
 * The VirtualKD dispatcher role: answers `~kdVMvA` bodies (`v`/`t`/`r`/`s`, virtualkd-kdrpc spec
 * §4) and is at the same time the target-facing `PacketLink` the router talks to.
 */
export interface KdrpcHost extends PacketLink {
  /** One request body in (from the command byte on), one reply out; empty = rejected (§4.9). */
  handleRequest(body: Uint8Array): Promise<Uint8Array>;
  /** The handler to register on an emulated VMX under `~kdVMvA` (a rejection becomes `"0 <code>"`). */
  readonly vmxHandler: RpciHandler;
  /** Sets the debugger presence reported to the guest; while absent, `s` calls get the retry bit and are not forwarded. */
  setDebuggerPresent(present: boolean): void;
  /** The guest's transport went away (proxy pipe closed, VM gone): `disconnect` now. */
  guestGone(reason?: string): void;
  status(): KdrpcHostStatus;
}

interface Queued {
  readonly packet: KdPacket;
  readonly resolve: () => void;
  readonly reject: (error: VmkdError) => void;
  timer: unknown;
}

interface Waiter {
  readonly packetType: number;
  readonly take: (entry: Queued | undefined) => void;
}

type Processed = { readonly reply: Uint8Array } | { readonly error: VmkdError };

export function createKdrpcHost(options: KdrpcHostOptions = {}): KdrpcHost {
  const name = options.name ?? 'kdrpc-host';
  const hostVersion = options.version ?? KdrpcVersion.Redux2024_3;
  const minGuestVersion = options.minGuestVersion ?? KdrpcVersion.Redux2021_0;
  const receiveWaitMs = options.receiveWaitMs ?? 200;
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.guestIdleTimeoutMs ?? 5_000;
  const kdDebuggerEnabled = options.kdDebuggerEnabled ?? 1;
  const maxQueued = options.maxQueuedPackets ?? 64;
  const maxPayload = options.maxPayload ?? 4096;
  const clock = options.clock ?? systemClock;

  // Held until the first subscriber (PacketLink rule): the guest's connect must not be lost.
  const events = createHeldEvents<LinkEvent>();
  const stats: LinkStats = emptyLinkStats();
  const queue: Queued[] = [];
  const waiters: Waiter[] = [];
  const calls = { v: 0, t: 0, r: 0, s: 0 };
  let debuggerPresent = options.debuggerPresent ?? true;
  let connected = false;
  let closed = false;
  let guestVersion: number | undefined;
  let versionAccepted = false;
  let testsPassed = 0;
  let polls = 0;
  let rejected = 0;
  let lastRejection: string | undefined;
  let droppedPackets = 0;
  let breakInPending = false;
  let resyncPending = false;
  let lastCallAt = 0;
  let inFlight = 0;

  // Events are delivered asynchronously (PacketLink rule), in order.
  const emit = (event: LinkEvent): void => {
    queueMicrotask(() => {
      if (!closed) events.next(event);
    });
  };

  // The idle check, one timer re-armed on the clock (a quarter of the idle timeout apart).
  const idleCheckMs = Math.max(10, Math.floor(idleTimeoutMs / 4));
  let idleTimer: unknown;
  const onIdleTimer = (): void => {
    if (closed) return;
    if (connected && inFlight === 0 && clock.now() - lastCallAt > idleTimeoutMs) {
      lose(new VmkdError(LinkErrorCode.Disconnected, `${name}: no guest call for ${idleTimeoutMs} ms`, { disconnected: true }));
    }
    idleTimer = clock.setTimeout(onIdleTimer, idleCheckMs);
  };
  idleTimer = clock.setTimeout(onIdleTimer, idleCheckMs);

  function lose(error: VmkdError): void {
    if (!connected) return;
    connected = false;
    versionAccepted = false;
    emit({ kind: 'disconnect', error });
  }

  function seen(peer: string): void {
    lastCallAt = clock.now();
    if (!connected) {
      connected = true;
      emit({ kind: 'connect', peer });
    }
  }

  const globals = (retry = false): number => kdrpcGlobals({ debuggerPresent, kdDebuggerEnabled, retry });

  function reject(reason: VmkdError | string): Processed {
    rejected++;
    stats.badFrames++;
    const error = typeof reason === 'string' ? new VmkdError(KdrpcLinkErrorCode.Rejected, `${name}: ${reason}`) : reason;
    lastRejection = error.message;
    return { error };
  }

  // --- the debugger → guest queue ---------------------------------------------------------

  function settle(entry: Queued, error?: VmkdError): void {
    if (entry.timer !== undefined) clock.clearTimeout(entry.timer);
    if (error === undefined) entry.resolve();
    else entry.reject(error);
  }

  /** The first queued packet of `packetType`; packets of other types ahead of it are dropped (KDCOM's ACK-and-ignore). */
  function takeFor(packetType: number): Queued | undefined {
    while (queue.length > 0) {
      const head = queue.shift()!;
      if (head.packet.type === packetType) return head;
      droppedPackets++;
      settle(head);
    }
    return undefined;
  }

  function offer(entry: Queued): void {
    const i = waiters.findIndex((w) => w.packetType === entry.packet.type);
    if (i >= 0) {
      const [waiter] = waiters.splice(i, 1);
      waiter.take(entry);
      return;
    }
    queue.push(entry);
  }

  function waitForPacket(packetType: number): Promise<Queued | undefined> {
    const ready = takeFor(packetType);
    if (ready !== undefined || receiveWaitMs <= 0) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        packetType,
        take: (entry) => {
          clock.clearTimeout(timer);
          resolve(entry);
        },
      };
      const timer = clock.setTimeout(() => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
        resolve(undefined);
      }, receiveWaitMs);
      waiters.push(waiter);
    });
  }

  function flushQueue(reason: string, code: string = KdrpcLinkErrorCode.Flushed): void {
    for (const entry of queue.splice(0)) {
      settle(entry, new VmkdError(code, `${name}: ${reason}`, { canceled: true }));
    }
  }

  // --- the four commands ------------------------------------------------------------------

  function onVersion(version: number): Processed {
    calls.v++;
    guestVersion = version;
    testsPassed = 0;
    if (version < minGuestVersion) {
      versionAccepted = false;
      return reject(`guest protocol version 0x${version.toString(16)} is older than 0x${minGuestVersion.toString(16)}`);
    }
    // A second handshake means a new guest kernel: report it as gone and back.
    if (connected && versionAccepted) lose(new VmkdError(LinkErrorCode.Disconnected, `${name}: guest restarted its handshake`, { disconnected: true }));
    versionAccepted = true;
    seen(`kdrpc guest 0x${version.toString(16)}`);
    return { reply: encodeKdrpcReply({ command: 'v', version: hostVersion }) };
  }

  function onTest(pattern: Uint8Array): Processed {
    calls.t++;
    if (!versionAccepted) return reject('t before an accepted v');
    try {
      checkKdrpcTestPattern('request', pattern);
    } catch (error) {
      return reject(error as VmkdError);
    }
    testsPassed++;
    lastCallAt = clock.now();
    return { reply: encodeKdrpcReply({ command: 't', pattern: kdrpcTestPattern('reply') }) };
  }

  async function onReceive(request: Extract<KdrpcRequest, { command: 'r' }>): Promise<Processed> {
    calls.r++;
    seen('kdrpc guest');
    const context = (breakIn: boolean): KdContext => ({ retryCount: request.context.retryCount, breakInRequested: breakIn });
    const empty = (status: number, breakIn: boolean): Processed => ({
      reply: encodeKdrpcReply({
        command: 'r',
        buffer1: { length: 0, maxLength: request.buffer1.maxLength },
        buffer2: { length: 0, maxLength: request.buffer2.maxLength },
        context: context(breakIn),
        status,
        payloadBytes: 0,
        globals: globals(),
        data1: EMPTY,
        data2: EMPTY,
      }),
    });

    if (request.packetType === POLL_BREAKIN) {
      // KdCheckForAnyPacket: peek only, never consume a data packet (§7.2).
      polls++;
      if (!breakInPending) return empty(KdRecvCode.Timeout, false);
      breakInPending = false;
      return empty(KdRecvCode.Ok, true);
    }
    const breakIn = breakInPending;
    breakInPending = false;
    if (resyncPending) {
      resyncPending = false;
      stats.resyncs++;
      return empty(KdRecvCode.Failed, breakIn); // the kernel re-sends its state change
    }
    const entry = await waitForPacket(request.packetType);
    if (entry === undefined && resyncPending) {
      // resync() woke this receive: tell the kernel now rather than after receiveWaitMs.
      resyncPending = false;
      stats.resyncs++;
      const late = breakInPending;
      breakInPending = false;
      return empty(KdRecvCode.Failed, breakIn || late);
    }
    if (entry === undefined) {
      // A break-in that arrived while this receive waited is reported now, once.
      const late = breakInPending;
      breakInPending = false;
      return empty(KdRecvCode.Timeout, breakIn || late);
    }
    const payload = entry.packet.payload;
    const size1 = Math.min(payload.length, request.buffer1.maxLength);
    const size2 = payload.length - size1;
    if (size2 > request.buffer2.maxLength) {
      settle(
        entry,
        new VmkdError(LinkErrorCode.TooLarge, `${name}: packet of ${payload.length} bytes does not fit the guest's buffers`, {
          details: { size: payload.length, buffer1: request.buffer1.maxLength, buffer2: request.buffer2.maxLength },
        }),
      );
      return empty(KdRecvCode.Failed, breakIn);
    }
    stats.packetsOut++;
    settle(entry);
    return {
      reply: encodeKdrpcReply({
        command: 'r',
        buffer1: { length: size1, maxLength: request.buffer1.maxLength },
        buffer2: { length: size2, maxLength: request.buffer2.maxLength },
        context: context(breakIn),
        status: KdRecvCode.Ok,
        payloadBytes: size2,
        globals: globals(),
        data1: payload.subarray(0, size1),
        data2: payload.subarray(size1),
      }),
    };
  }

  function onSend(request: Extract<KdrpcRequest, { command: 's' }>): Processed {
    calls.s++;
    seen('kdrpc guest');
    const context: KdContext = { retryCount: request.context.retryCount, breakInRequested: false };
    if (!debuggerPresent) {
      // Never block the guest: tell it to repeat the call later (§7.3).
      return { reply: encodeKdrpcReply({ command: 's', context, globals: globals(true) }) };
    }
    // A buffer whose Length is 0 is absent; the KDCOM body is buffer 1 then buffer 2.
    const d1 = request.buffer1.length === 0 ? EMPTY : request.data1;
    const d2 = request.buffer2.length === 0 ? EMPTY : request.data2;
    const payload = new Uint8Array(d1.length + d2.length);
    payload.set(d1, 0);
    payload.set(d2, d1.length);
    stats.packetsIn++;
    emit({ kind: 'packet', packet: { type: request.packetType, payload } });
    return { reply: encodeKdrpcReply({ command: 's', context, globals: globals() }) };
  }

  async function processBody(body: Uint8Array): Promise<Processed> {
    if (closed) return reject('host closed');
    stats.bytesIn += body.length;
    let request: KdrpcRequest;
    try {
      request = decodeKdrpcRequest(body);
    } catch (error) {
      return reject(isVmkdError(error) ? error : String(error));
    }
    inFlight++;
    try {
      switch (request.command) {
        case 'v':
          return onVersion(request.version);
        case 't':
          return onTest(request.pattern);
        case 'r':
          return await onReceive(request);
        case 's':
          return onSend(request);
      }
    } finally {
      inFlight--;
      lastCallAt = clock.now();
    }
  }

  async function handleRequest(body: Uint8Array): Promise<Uint8Array> {
    const out = await processBody(body);
    if ('error' in out) return EMPTY;
    stats.bytesOut += out.reply.length;
    return out.reply;
  }

  const host: KdrpcHost = {
    name,
    role: 'target-facing',
    events$: events.events$,
    get connected() {
      return connected && !closed;
    },
    send(packet) {
      if (closed) return Promise.reject(new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true }));
      if (packet.payload.length > maxPayload) {
        return Promise.reject(
          new VmkdError(LinkErrorCode.TooLarge, `${name}: payload of ${packet.payload.length} bytes exceeds ${maxPayload}`, {
            details: { size: packet.payload.length, max: maxPayload },
          }),
        );
      }
      if (queue.length >= maxQueued) {
        return Promise.reject(new VmkdError(LinkErrorCode.Timeout, `${name}: ${maxQueued} packets already wait for the guest`));
      }
      return new Promise<void>((resolve, rejectSend) => {
        const entry: Queued = { packet: { type: packet.type, payload: packet.payload.slice() }, resolve, reject: rejectSend, timer: undefined };
        entry.timer = clock.setTimeout(() => {
          const i = queue.indexOf(entry);
          if (i >= 0) queue.splice(i, 1);
          rejectSend(
            new VmkdError(LinkErrorCode.Timeout, `${name}: the guest did not take the packet within ${sendTimeoutMs} ms`, {
              disconnected: !connected,
            }),
          );
        }, sendTimeoutMs);
        offer(entry);
      });
    },
    breakIn() {
      if (closed) return Promise.reject(new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true }));
      breakInPending = true;
      stats.breakins++;
      return Promise.resolve();
    },
    resync() {
      if (closed) return Promise.reject(new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true }));
      // Flush on reset: stale debugger packets must not reach the guest after a resync (§7.3).
      flushQueue('flushed by resync');
      resyncPending = true;
      // A stopped kernel may sit in a receive right now: answer it at once (its state change
      // follows) instead of letting the debugger's RESET wait out the receive timeout.
      for (const waiter of waiters.splice(0)) waiter.take(undefined);
      return Promise.resolve();
    },
    stats: () => ({ ...stats }),
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      clock.clearTimeout(idleTimer);
      // Pending sends end with the close's own error (PacketLink rule), not a flush.
      flushQueue('link closed', LinkErrorCode.Closed);
      for (const w of waiters.splice(0)) w.take(undefined);
      connected = false;
      queueMicrotask(() => events.complete());
      return Promise.resolve();
    },
    handleRequest,
    vmxHandler: async (args) => {
      const out = await processBody(args);
      if ('error' in out) return { ok: false, reply: out.error.code };
      stats.bytesOut += out.reply.length;
      return out.reply;
    },
    setDebuggerPresent(present) {
      debuggerPresent = present;
    },
    guestGone(reason = 'guest transport closed') {
      lose(new VmkdError(LinkErrorCode.Disconnected, `${name}: ${reason}`, { disconnected: true }));
    },
    status: () => ({
      connected,
      guestVersion,
      versionAccepted,
      testsPassed,
      calls: { ...calls },
      polls,
      rejected,
      lastRejection,
      droppedPackets,
      queuedPackets: queue.length,
      debuggerPresent,
    }),
  };
  return host;
}
