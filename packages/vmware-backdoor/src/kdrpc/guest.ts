import {
  KdApi,
  KdDebugIoApi,
  KdLimits,
  KdPacketType,
  KdRecvCode,
  KdrpcGlobals,
  KdrpcVersion,
  LinkErrorCode,
  VmkdError,
  checkKdrpcTestPattern,
  createHeldEvents,
  decodeKdrpcReply,
  emptyLinkStats,
  encodeKdrpcRequest,
  isVmkdError,
  kdrpcGlobals,
  kdrpcTestRequest,
  systemClock,
  withKdrpcPrefix,
  type Clock,
  type KdPacket,
  type KdrpcCommandName,
  type KdrpcReply,
  type LinkEvent,
  type LinkStats,
  type PacketLink,
  type SendableKdBuffer,
} from '@vmkd/kd-protocol';
import type { Rpci } from '../guestrpc/rpci.js';
import { KdrpcLinkErrorCode } from './errors.js';

/**
 * How the guest hands one KDRPC body to the host and gets the reply back (the bytes after the VMM's
 * `"1 "`, starting with the signature). Over GuestRPC that is one RPCI call; in tests it may be a
 * proxy-pipe client.
 */
export type KdrpcCall = (body: Uint8Array) => Promise<Uint8Array>;

/** A `KdrpcCall` over an RPCI client: `"~kdVMvA " + body` out, the `"1 "` reply in. */
export function kdrpcCallOverRpci(rpci: Rpci): KdrpcCall {
  return async (body) => {
    const reply = await rpci.send(withKdrpcPrefix(body));
    if (!reply.ok) {
      throw new VmkdError(KdrpcLinkErrorCode.CallFailed, `KDRPC call failed: "0 ${reply.text}"`, {
        details: { command: String.fromCharCode(body[0] ?? 0x3f), reply: reply.text },
      });
    }
    return reply.result;
  };
}

export interface KdrpcGuestLinkOptions {
  /** Default `kdrpc-guest`. */
  readonly name?: string;
  /** The guest protocol version sent in `v`. Default 0x07E80003. */
  readonly version?: number;
  /** Require a host version ≥ the guest's (Redux guests do). Default true. */
  readonly requireHostVersion?: boolean;
  /** `t` exchanges after `v` (VirtualKD runs 100). Default 3. */
  readonly testCount?: number;
  /** Longest pause between break-in polls while the target runs. Default 10 ms. */
  readonly pollIntervalMs?: number;
  /** How long send() keeps repeating a call the host asks to retry, or waits for a reconnect. Default 10 s. */
  readonly sendTimeoutMs?: number;
  /** After handing a request to the kernel, how long to wait for its reply before receiving again. Default 100 ms. */
  readonly replyGraceMs?: number;
  /** Consecutive failed calls that count as "host gone". Default 3. */
  readonly failuresBeforeDisconnect?: number;
  /** The `KdDebuggerEnabled` byte the guest reports. Default 1. */
  readonly kdDebuggerEnabled?: number;
  /** Size of the kernel's receive buffers (buffer 2). Default 4096. */
  readonly maxPayload?: number;
  /** Time for every pause, grace period and timeout here (tests pass a virtual clock). Default: the event loop's. */
  readonly clock?: Clock;
}

export interface KdrpcGuestStatus {
  readonly connected: boolean;
  readonly hostVersion: number | undefined;
  readonly handshakes: number;
  /** What the kernel would be doing: polling for break-in, or waiting for debugger requests. */
  readonly mode: 'running' | 'stopped';
  readonly rpcs: number;
  readonly failedRpcs: number;
  /** The host's view, from the last `globals` word it sent. */
  readonly debuggerPresent: boolean;
  readonly kdDebuggerEnabled: number;
  readonly lastError: VmkdError | undefined;
}

/** The `kdvm.dll` role as a debugger-facing `PacketLink` (what a guest kernel's TargetSession talks through). */
export interface KdrpcGuestLink extends PacketLink {
  status(): KdrpcGuestStatus;
}

/** KD numbers the guest needs to follow the kernel's receive pattern (kd-protocol's, spec 1.3 and 2.1). */
const PacketType = KdPacketType;
const Api = { Continue: KdApi.Continue, ContinueApi2: KdApi.ContinueApi2, Reboot: KdApi.Reboot, CauseBugCheck: KdApi.CauseBugCheck, GetString: KdDebugIoApi.GetString } as const;
/**
 * Header (buffer 1) sizes per packet type: DBGKD_MANIPULATE_STATE64 and DBGKD_DEBUG_IO as
 * kd-protocol declares them; a DBGKD_FILE_IO header as kdvm.dll passes it, 56 bytes.
 */
const HEADER_SIZE: Readonly<Record<number, number>> = { [KdPacketType.StateManipulate]: KdLimits.ManipulateSize, [KdPacketType.DebugIo]: KdLimits.DebugIoSize, [KdPacketType.FileIo]: 56 };
const NO_BUFFER: SendableKdBuffer = { length: 0, maxLength: 0 };
const KD_RETRY_COUNT = 10;

interface PendingSend {
  readonly packet: KdPacket;
  readonly resolve: () => void;
  readonly reject: (error: VmkdError) => void;
  readonly timer: unknown;
  retries: number;
}

function u32At(payload: Uint8Array, offset: number): number {
  if (payload.length < offset + 4) return -1;
  return (payload[offset] | (payload[offset + 1] << 8) | (payload[offset + 2] << 16) | (payload[offset + 3] << 24)) >>> 0;
}

/**
 * The guest side of KDRPC: `KdSendPacket`/`KdReceivePacket` marshalled as `s`/`r` calls. It does the
 * handshake (`v`, then a few `t`), then runs the kernel's receive pattern: break-in polls (type 8,
 * with backoff so an idle guest does not spin) while the target runs, type-2 receives while it is
 * stopped. Sends are serialised with receives, as the kernel does, and a send comes first.
 */
export function createKdrpcGuestLink(call: KdrpcCall, options: KdrpcGuestLinkOptions = {}): KdrpcGuestLink {
  const name = options.name ?? 'kdrpc-guest';
  const guestVersion = options.version ?? KdrpcVersion.Redux2024_3;
  const requireHostVersion = options.requireHostVersion ?? true;
  const testCount = options.testCount ?? 3;
  const pollIntervalMs = Math.max(1, options.pollIntervalMs ?? 10);
  const sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
  const replyGraceMs = options.replyGraceMs ?? 100;
  const failuresBeforeDisconnect = options.failuresBeforeDisconnect ?? 3;
  const kdDebuggerEnabled = options.kdDebuggerEnabled ?? 1;
  const maxPayload = options.maxPayload ?? 4096;
  const clock = options.clock ?? systemClock;

  // Held until the first subscriber (PacketLink rule): the connect after the handshake must not be lost.
  const events = createHeldEvents<LinkEvent>();
  const stats: LinkStats = emptyLinkStats();
  const sends: PendingSend[] = [];
  let closed = false;
  let connected = false;
  let mode: 'running' | 'stopped' = 'running';
  /** A one-off receive type (DEBUG_IO after a GetString prompt, FILE_IO after a file request). */
  let expectType: number | undefined;
  let holdUntil = 0;
  let hostVersion: number | undefined;
  let handshakes = 0;
  let rpcs = 0;
  let failedRpcs = 0;
  let failures = 0;
  let hostDebuggerPresent = true;
  let hostKdDebuggerEnabled = kdDebuggerEnabled;
  let lastError: VmkdError | undefined;
  let wake: (() => void) | undefined;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = clock.setTimeout(done, ms);
      function done(): void {
        clock.clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  async function rpc<C extends KdrpcCommandName>(command: C, body: Uint8Array): Promise<Extract<KdrpcReply, { command: C }>> {
    rpcs++;
    stats.bytesOut += body.length;
    try {
      const raw = await call(body);
      stats.bytesIn += raw.length;
      const reply = decodeKdrpcReply(command, raw) as Extract<KdrpcReply, { command: C }>;
      failures = 0;
      return reply;
    } catch (error) {
      failedRpcs++;
      const wrapped = isVmkdError(error) ? error : new VmkdError(KdrpcLinkErrorCode.CallFailed, `${name}: ${String(error)}`, { cause: error });
      lastError = wrapped;
      throw wrapped;
    }
  }

  const globals = (): number => kdrpcGlobals({ debuggerPresent: hostDebuggerPresent, kdDebuggerEnabled });

  function absorbGlobals(value: number): void {
    hostDebuggerPresent = (value & KdrpcGlobals.DebuggerNotPresent) === 0;
    if ((value & KdrpcGlobals.DebuggerEnabledPresent) !== 0) hostKdDebuggerEnabled = (value >>> 8) & 0xff;
  }

  async function handshake(): Promise<void> {
    handshakes++;
    const v = await rpc('v', encodeKdrpcRequest({ command: 'v', version: guestVersion }));
    if (requireHostVersion && v.version < guestVersion) {
      throw new VmkdError(KdrpcLinkErrorCode.HostTooOld, `${name}: host protocol 0x${v.version.toString(16)} is older than 0x${guestVersion.toString(16)}`, {
        details: { host: v.version, guest: guestVersion },
      });
    }
    hostVersion = v.version;
    const test = encodeKdrpcRequest(kdrpcTestRequest());
    for (let i = 0; i < testCount; i++) {
      const t = await rpc('t', test);
      checkKdrpcTestPattern('reply', t.pattern);
    }
  }

  async function sendOne(entry: PendingSend): Promise<void> {
    const { type, payload } = entry.packet;
    const size1 = Math.min(payload.length, HEADER_SIZE[type] ?? payload.length);
    const data1 = payload.subarray(0, size1);
    const data2 = payload.subarray(size1);
    const reply = await rpc(
      's',
      encodeKdrpcRequest({
        command: 's',
        buffer1: { length: data1.length, maxLength: data1.length },
        buffer2: data2.length === 0 ? NO_BUFFER : { length: data2.length, maxLength: data2.length },
        context: { retryCount: KD_RETRY_COUNT, breakInRequested: false },
        packetType: type,
        globals: globals(),
        data1,
        data2,
      }),
    );
    absorbGlobals(reply.globals);
    if ((reply.globals & KdrpcGlobals.RetrySend) !== 0) {
      // The host gave up waiting for the debugger: repeat the whole call, with backoff.
      entry.retries++;
      stats.resends++;
      await sleep(Math.min(50, 2 ** Math.min(entry.retries, 6)));
      return;
    }
    if (sends[0] === entry) sends.shift();
    clock.clearTimeout(entry.timer);
    stats.packetsOut++;
    holdUntil = 0;
    if (type === PacketType.StateChange64 || type === PacketType.StateChange32) mode = 'stopped';
    else if (type === PacketType.DebugIo && u32At(payload, 0) === Api.GetString) expectType = PacketType.DebugIo;
    else if (type === PacketType.FileIo) expectType = PacketType.FileIo;
    entry.resolve();
  }

  /** One KdReceivePacket call; returns true when something arrived. */
  async function receiveOne(packetType: number): Promise<boolean> {
    const poll = packetType === PacketType.PollBreakin;
    const header = HEADER_SIZE[packetType] ?? 56;
    const buffer1: SendableKdBuffer = poll ? NO_BUFFER : { length: 0, maxLength: header };
    const buffer2: SendableKdBuffer = poll ? NO_BUFFER : { length: 0, maxLength: maxPayload };
    const reply = await rpc(
      'r',
      encodeKdrpcRequest({ command: 'r', packetType, globals: globals(), buffer1, buffer2, context: { retryCount: KD_RETRY_COUNT, breakInRequested: false } }),
    );
    absorbGlobals(reply.globals);
    // The guest copies a part only if its buffer exists and is large enough (§4.5).
    if (reply.data1.length > buffer1.maxLength || reply.data2.length > buffer2.maxLength) {
      throw new VmkdError(KdrpcLinkErrorCode.Rejected, `${name}: r reply overflows the receive buffers`, {
        details: { size1: reply.data1.length, size2: reply.data2.length },
      });
    }
    if (reply.context.breakInRequested) {
      stats.breakins++;
      events.next({ kind: 'breakin' });
    }
    if (poll) return reply.status === KdRecvCode.Ok;
    if (reply.status === KdRecvCode.Failed) {
      stats.resyncs++;
      events.next({ kind: 'reset' });
      return true;
    }
    if (reply.status !== KdRecvCode.Ok) return reply.context.breakInRequested;
    const payload = new Uint8Array(reply.data1.length + reply.data2.length);
    payload.set(reply.data1, 0);
    payload.set(reply.data2, reply.data1.length);
    stats.packetsIn++;
    if (expectType === packetType) expectType = undefined;
    let expectsReply = packetType === PacketType.StateManipulate;
    if (packetType === PacketType.StateManipulate) {
      const api = u32At(payload, 0);
      if (api === Api.Continue || api === Api.ContinueApi2) {
        // Set before the event: a single step may report the next stop from inside it.
        mode = 'running';
        expectsReply = false;
      } else if (api === Api.Reboot || api === Api.CauseBugCheck) {
        expectsReply = false;
      }
    }
    events.next({ kind: 'packet', packet: { type: packetType, payload } });
    if (expectsReply && sends.length === 0) holdUntil = clock.now() + replyGraceMs;
    return true;
  }

  async function run(): Promise<void> {
    let pollDelay = 1;
    let handshakeDelay = 50;
    while (!closed) {
      if (!connected) {
        try {
          await handshake();
        } catch (error) {
          lastError = isVmkdError(error) ? error : lastError;
          await sleep(handshakeDelay);
          handshakeDelay = Math.min(handshakeDelay * 2, 2000);
          continue;
        }
        if (closed) break;
        handshakeDelay = 50;
        connected = true;
        events.next({ kind: 'connect', peer: `kdrpc host 0x${(hostVersion ?? 0).toString(16)}` });
        continue;
      }
      try {
        const next = sends[0];
        if (next !== undefined) {
          await sendOne(next);
          continue;
        }
        const now = clock.now();
        if (holdUntil > now) {
          await sleep(holdUntil - now);
          holdUntil = 0;
          continue;
        }
        const packetType = expectType ?? (mode === 'stopped' ? PacketType.StateManipulate : PacketType.PollBreakin);
        const got = await receiveOne(packetType);
        if (packetType === PacketType.PollBreakin && !got) {
          await sleep(pollDelay);
          pollDelay = Math.min(pollDelay * 2, pollIntervalMs);
        } else {
          pollDelay = 1;
        }
      } catch (error) {
        failures++;
        if (failures >= failuresBeforeDisconnect && connected) {
          connected = false;
          const reason = isVmkdError(error) ? error : undefined;
          events.next({
            kind: 'disconnect',
            error: new VmkdError(LinkErrorCode.Disconnected, `${name}: ${failures} KDRPC calls failed`, { disconnected: true, cause: reason }),
          });
        }
        await sleep(Math.min(10 * failures, 200));
      }
    }
  }

  const closedError = (): VmkdError => new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true });
  const unsupported = (what: string): Promise<void> =>
    Promise.reject(new VmkdError(LinkErrorCode.Unsupported, `${name}: ${what} is not supported on a debugger-facing link`));

  const link: KdrpcGuestLink = {
    name,
    role: 'debugger-facing',
    events$: events.events$,
    get connected() {
      return connected && !closed;
    },
    send(packet) {
      if (closed) return Promise.reject(closedError());
      if (packet.payload.length > maxPayload) {
        return Promise.reject(
          new VmkdError(LinkErrorCode.TooLarge, `${name}: payload of ${packet.payload.length} bytes exceeds ${maxPayload}`, {
            details: { size: packet.payload.length, max: maxPayload },
          }),
        );
      }
      return new Promise<void>((resolve, reject) => {
        const entry: PendingSend = {
          packet: { type: packet.type, payload: packet.payload.slice() },
          resolve,
          reject,
          retries: 0,
          timer: clock.setTimeout(() => {
            const i = sends.indexOf(entry);
            if (i >= 0) sends.splice(i, 1);
            reject(
              new VmkdError(LinkErrorCode.Timeout, `${name}: the host did not take the packet within ${sendTimeoutMs} ms`, {
                disconnected: !connected,
                cause: lastError,
              }),
            );
          }, sendTimeoutMs),
        };
        sends.push(entry);
        wake?.();
      });
    },
    breakIn: () => unsupported('breakIn()'),
    resync: () => unsupported('resync()'),
    stats: () => ({ ...stats }),
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      for (const entry of sends.splice(0)) {
        clock.clearTimeout(entry.timer);
        entry.reject(closedError());
      }
      wake?.();
      queueMicrotask(() => events.complete());
      return Promise.resolve();
    },
    status: () => ({
      connected: connected && !closed,
      hostVersion,
      handshakes,
      mode,
      rpcs,
      failedRpcs,
      debuggerPresent: hostDebuggerPresent,
      kdDebuggerEnabled: hostKdDebuggerEnabled,
      lastError,
    }),
  };

  // Start after the caller has had the chance to subscribe (events are hot).
  clock.setTimeout(() => void run(), 0);
  return link;
}

