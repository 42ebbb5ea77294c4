import type { Subscription } from 'rxjs';
import type { ByteLink } from '../byte-link.js';
import { LinkErrorCode, VmkdError, isVmkdError } from '../errors.js';
import { createHeldEvents } from '../held-events.js';
import type { KdPacket, LinkEvent, LinkRole, LinkStats, PacketLink } from '../packet-link.js';
import { systemClock, type KdcomClock } from './clock.js';
import { PACKET_MAX_SIZE } from './constants.js';
import { KdPacketType } from '../api/constants.js';
import { KdcomErrorCode } from './errors.js';
import { KdcomFrameDecoder } from './frame-decoder.js';
import { KdcomLinkMachine, type KdcomMachineOptions } from './link-machine.js';

export interface KdcomLinkOptions extends Omit<KdcomMachineOptions, 'role'> {
  role: LinkRole;
  /** Defaults to `kdcom+<byte link name>`. */
  name?: string;
  /**
   * T_byte: a frame that stalls this long mid-way is dropped and RESEND is sent. Default 1000 ms
   * with `retransmit: 'fixed'`; with `adaptive`, twice the link's current retransmission timeout
   * (at most 1000 ms), since the sender repeats a frame that stalled within one RTO anyway.
   */
  byteTimeoutMs?: number;
}

interface Waiter {
  resolve(): void;
  reject(error: VmkdError): void;
}

/**
 * A PacketLink that speaks KDCOM over a byte link (a serial port, pipe or socket): framing,
 * ACK/RESEND/RESET, ids and retransmission, in either role. It owns the byte link: close()
 * closes it, and the byte link ending is this link's `disconnect`.
 *
 * Received payloads are views of the byte link's chunks when a frame arrives whole (no copy);
 * byte links hand out fresh chunks, so those views stay valid.
 */
export function createKdcomLink(byteLink: ByteLink, options: KdcomLinkOptions): PacketLink {
  const name = options.name ?? `kdcom+${byteLink.name}`;
  const role = options.role;
  const clock: KdcomClock = options.clock ?? systemClock;
  const adaptive = (options.retransmit ?? (role === 'target-facing' ? 'adaptive' : 'fixed')) === 'adaptive';
  const fixedByteTimeoutMs = options.byteTimeoutMs ?? (adaptive ? undefined : 1000);
  const byteTimeout = (): number => fixedByteTimeoutMs ?? Math.min(1000, 2 * machine.rto);
  // Held until the first subscriber: the connect and a first state change must not be lost (PacketLink rule).
  const events = createHeldEvents<LinkEvent>();
  let connected = true;
  let closed = false;
  let resyncWaiters: Waiter[] = [];
  let lastWrite: Promise<void> = Promise.resolve();

  const machine = new KdcomLinkMachine<Waiter>(
    { ...options, clock },
    {
      write(bytes) {
        lastWrite = byteLink.write(bytes);
        lastWrite.catch((error: unknown) => lose(asLinkError(error)));
      },
      deliver: (packet) => events.next({ kind: 'packet', packet }),
      sent: (waiter) => waiter.resolve(),
      failed: (waiter, error) => waiter.reject(error),
      peerBreakIn: () => events.next({ kind: 'breakin' }),
      peerReset: () => events.next({ kind: 'reset' }),
      resynced: () => settleResync(),
      resyncFailed: (error) => settleResync(error),
    },
  );
  const decoder = new KdcomFrameDecoder((event) => machine.receive(event));

  function settleResync(error?: VmkdError): void {
    const waiters = resyncWaiters;
    resyncWaiters = [];
    for (const w of waiters) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
  }

  // T_byte: one lazily re-armed timer, checked against the time of the last chunk.
  let lastChunkAt = 0;
  let byteTimer: unknown = undefined;
  const onByteTimer = (): void => {
    byteTimer = undefined;
    if (closed || !connected || !decoder.inFrame) return;
    const left = lastChunkAt + byteTimeout() - clock.now();
    if (left > 0) byteTimer = clock.setTimeout(onByteTimer, left);
    else decoder.flush();
  };

  let subscription: Subscription | undefined;
  subscription = byteLink.data$.subscribe({
    next(chunk) {
      machine.stats.bytesIn += chunk.length;
      // Node hands out Buffers; deliver plain Uint8Array views (same memory, no copy).
      decoder.push(chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      machine.endOfInput();
      if (decoder.inFrame) {
        lastChunkAt = clock.now();
        byteTimer ??= clock.setTimeout(onByteTimer, byteTimeout());
      }
    },
    complete: () => lose(),
    error: (error: unknown) => lose(asLinkError(error)),
  });
  if (closed) subscription.unsubscribe();

  queueMicrotask(() => {
    if (!closed && connected) events.next({ kind: 'connect', peer: byteLink.name });
  });

  /** The byte link ended (orderly or not): report it once and fail everything pending. */
  function lose(error?: VmkdError): void {
    if (closed || !connected) return;
    connected = false;
    if (byteTimer !== undefined) clock.clearTimeout(byteTimer);
    machine.close(error ?? new VmkdError(LinkErrorCode.Disconnected, `${name}: peer disconnected`, { disconnected: true }));
    events.next(error === undefined ? { kind: 'disconnect' } : { kind: 'disconnect', error });
  }

  function unavailable(): VmkdError | undefined {
    if (closed) return new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true });
    if (!connected) return new VmkdError(LinkErrorCode.Disconnected, `${name}: peer disconnected`, { disconnected: true });
    return undefined;
  }

  function targetFacingOnly(what: string): VmkdError | undefined {
    return role === 'target-facing'
      ? unavailable()
      : new VmkdError(LinkErrorCode.Unsupported, `${name}: ${what}() is only available on target-facing links`);
  }

  return {
    name,
    role,
    events$: events.events$,
    get connected() {
      return connected && !closed;
    },
    send(packet: KdPacket): Promise<void> {
      const error =
        unavailable() ??
        (packet.payload.length > PACKET_MAX_SIZE
          ? new VmkdError(LinkErrorCode.TooLarge, `${name}: payload of ${packet.payload.length} bytes exceeds ${PACKET_MAX_SIZE}`, {
              details: { size: packet.payload.length, max: PACKET_MAX_SIZE },
            })
          : !Number.isInteger(packet.type) || packet.type < 0 || packet.type >= KdPacketType.Max
            ? new VmkdError(KdcomErrorCode.BadType, `${name}: packet type ${packet.type} cannot be sent as a data packet`, {
                details: { type: packet.type },
              })
            : undefined);
      if (error !== undefined) return Promise.reject(error);
      return new Promise<void>((resolve, reject) => machine.send(packet, { resolve, reject }));
    },
    breakIn(): Promise<void> {
      const error = targetFacingOnly('breakIn');
      if (error !== undefined) return Promise.reject(error);
      machine.breakIn();
      return lastWrite;
    },
    resync(): Promise<void> {
      const error = targetFacingOnly('resync');
      if (error !== undefined) return Promise.reject(error);
      return new Promise<void>((resolve, reject) => {
        resyncWaiters.push({ resolve, reject });
        machine.resync();
      });
    },
    setTargetRunning(running: boolean): void {
      machine.setKernelRunning(running);
    },
    targetRestarted(): void {
      machine.restart();
    },
    stats: (): LinkStats => ({ ...machine.stats }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      subscription?.unsubscribe();
      subscription = undefined;
      if (byteTimer !== undefined) clock.clearTimeout(byteTimer);
      machine.close(new VmkdError(LinkErrorCode.Closed, `${name}: link closed`, { canceled: true }));
      events.complete();
      await byteLink.close();
    },
  };
}

function asLinkError(error: unknown): VmkdError {
  if (isVmkdError(error)) return error;
  return new VmkdError(LinkErrorCode.Disconnected, 'KDCOM: byte link failed', { cause: error, disconnected: true });
}
