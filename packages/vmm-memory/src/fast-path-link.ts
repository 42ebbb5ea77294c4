import {
  KdApi,
  KdLimits,
  KdMachineType,
  KdPacketType,
  KdStateChange,
  LinkErrorCode,
  createHeldEvents,
  VmkdError,
  decodeManipulate,
  decodeWaitStateChange,
  encodeManipulate,
  systemClock,
  type KdPacket,
  type KdcomClock,
  type LinkEvent,
  type LinkStats,
  type PacketLink,
} from '@vmkd/kd-protocol';
import { Subject, type Observable } from 'rxjs';
import { createGuestReader, type GuestReader } from './guest-reader.js';
import type { MemorySource } from './memory-source.js';
import { CR4_LA57, type PagingMode } from './page-walk.js';
import { initialFastPathState, reduceFastPath, requestRoute, SOURCE_READ_APIS, type FastPathEvent, type FastPathReportEvent, type FastPathState, type FastPathStats } from './fast-path-state.js';
import { searchFromSource } from './source-search.js';

export interface FastPathNotice {
  readonly level: 'info' | 'warn';
  readonly text: string;
}

/** A record for the route's trace: what happened and the counters after it (`vmkd route --trace`). */
export interface FastPathActivity {
  readonly event: FastPathReportEvent;
  /** Why the fast path was disabled (`disabled`). */
  readonly reason?: string;
  readonly stats: FastPathStats;
}

export interface FastPathOptions {
  /** Timeout of each KD request a validation makes, in ms (default 10 000). */
  readonly validationTimeoutMs?: number;
  readonly clock?: KdcomClock;
  /** Bytes of the kernel image header compared at KernBase (default 0x400). */
  readonly headerBytes?: number;
}

/** The guest link with the fast path in front of it. */
export interface FastPathLink extends PacketLink {
  /** Validation results and fast-path changes, for stderr and the trace. */
  readonly notices$: Observable<FastPathNotice>;
  /** Each validation's outcome and the end of each stop, with the counters then (hot: subscribe before attaching). */
  readonly activity$: Observable<FastPathActivity>;
  fastPathStats(): FastPathStats;
  fastPathState(): FastPathState;
  readonly source: MemorySource;
}

const HEADER = KdLimits.ManipulateSize;
/** KSPECIAL_REGISTERS is control-space offset 2 on AMD64 (KD spec 2.3, ReadControlSpace); CR3 at 0x10, CR4 at 0x18. */
const CONTROL_SPECIAL_REGISTERS = 2n;
/** STATUS_NO_MORE_ENTRIES: what a target answers a SearchMemory that found nothing (kd-protocol's TargetSession). */
const STATUS_NO_MORE_ENTRIES = 0x8000001a;

interface Waiter {
  /** The API of the request: a reply of another API (a late one to the debugger's own request) is not ours. */
  readonly apiNumber: number;
  resolve(reply: Uint8Array): void;
  reject(error: Error): void;
}

/**
 * A PacketLink decorator between the router and a guest link (architecture.md §5, issue 14): while
 * the target is stopped and the memory source has been validated at this stop, ReadVirtualMemory,
 * ReadPhysicalMemory and SearchMemory are answered from the source (host page walk with the CR3
 * of the CPU the request names, as that CPU would read); every other request, and any the host
 * walk cannot serve, goes to the guest unchanged.
 *
 * Validation: at each stop (an attach, a stop after a resume) the debugger's first read waits
 * while the link reads, through KD and from the source, the kernel's PE header at KernBase, the
 * PsLoadedModuleList head and the bytes at the stop's rip. Only if all agree is the source
 * trusted for this stop; a mismatch is a notice and every read goes through KD. Validating at the
 * first read rather than at the stop keeps the stop itself, and any traffic without reads, exactly
 * as the guest sent it.
 */
export function createFastPathLink(guest: PacketLink, source: MemorySource, options: FastPathOptions = {}): FastPathLink {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.validationTimeoutMs ?? 10_000;
  const headerBytes = options.headerBytes ?? 0x400;
  const reader: GuestReader = createGuestReader(source);
  // Held until the first subscriber (PacketLink rule), then hot.
  const events = createHeldEvents<LinkEvent>();
  const notices = new Subject<FastPathNotice>();
  const activity = new Subject<FastPathActivity>();
  let state: FastPathState = initialFastPathState;
  let closed = false;
  /** The state change of the current stop (what validation compares at: processor, rip). */
  let lastStop: Uint8Array | undefined;
  /** Debugger sends that arrived during a validation, in order. */
  let deferred: { packet: KdPacket; resolve(): void; reject(e: unknown): void }[] = [];
  let internal: Waiter | undefined;
  /** Forwarded requests whose reply has not come back: validation only starts when none is due. */
  let repliesDue = 0;
  /** API numbers of forwarded reads whose replies are still due (to count bytes through KD). */
  const forwardedReads: number[] = [];
  /** Paging mode of each CPU at this stop, from its KSPECIAL_REGISTERS. */
  const paging = new Map<number, PagingMode>();

  const dispatch = (event: FastPathEvent): void => {
    const step = reduceFastPath(state, event);
    state = step.state;
    for (const effect of step.effects) {
      if (effect.kind === 'invalidate') {
        reader.invalidate();
        if (effect.cr3) paging.clear();
      } else if (effect.kind === 'notice') notices.next({ level: effect.level, text: effect.text });
      else activity.next({ event: effect.event, ...(effect.reason === undefined ? {} : { reason: effect.reason }), stats: state.stats });
    }
  };

  /** One KD request of our own, while the debugger's read waits. */
  const request = (payload: Uint8Array): Promise<Uint8Array> =>
    new Promise<Uint8Array>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        internal = undefined;
        reject(new VmkdError(LinkErrorCode.Timeout, `no reply from the guest within ${timeoutMs} ms`));
      }, timeoutMs);
      internal = {
        apiNumber: u32(payload, 0),
        resolve: (reply) => {
          clock.clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clock.clearTimeout(timer);
          reject(error);
        },
      };
      guest.send({ type: KdPacketType.StateManipulate, payload }).catch((error: unknown) => internal?.reject(error instanceof Error ? error : new Error(String(error))));
    });

  const readThroughKd = async (processor: number, level: number, address: bigint, length: number): Promise<Uint8Array> => {
    const reply = await request(
      encodeManipulate({ layout: 'readMemory', apiNumber: KdApi.ReadVirtualMemory, processor, processorLevel: level, targetBaseAddress: address, transferCount: length }),
    );
    const m = decodeManipulate(reply);
    if (m.layout !== 'readMemory') throw new Error('a reply of another API');
    return m.data.subarray(0, Math.min(m.actualBytesRead, m.data.length));
  };

  /** CR3 and CR4.LA57 of one CPU at this stop, from its KSPECIAL_REGISTERS over KD; remembered until the next invalidation. */
  const readPaging = async (processor: number, level: number): Promise<PagingMode | undefined> => {
    const special = decodeManipulate(
      await request(
        encodeManipulate({ layout: 'readMemory', apiNumber: KdApi.ReadControlSpace, processor, processorLevel: level, targetBaseAddress: CONTROL_SPECIAL_REGISTERS, transferCount: 0x20 }),
      ),
    );
    if (special.layout !== 'readMemory' || special.data.length < 0x20 || special.actualBytesRead < 0x20) return undefined;
    const view = new DataView(special.data.buffer, special.data.byteOffset, 0x20);
    const mode: PagingMode = { cr3: view.getBigUint64(0x10, true), la57: (view.getBigUint64(0x18, true) & CR4_LA57) !== 0n };
    paging.set(processor, mode);
    return mode;
  };

  /**
   * The paging mode a request on `processor` translates with. Each CPU reads memory in its own
   * current address space (the process it was running when it stopped), so a request naming
   * another CPU (WinDbg's `~1`) asks that CPU's CR3 over KD first; that is only done while no
   * reply of the debugger's is due, so the two cannot be confused.
   */
  const pagingFor = async (processor: number): Promise<PagingMode | undefined> => {
    const known = paging.get(processor);
    if (known !== undefined || repliesDue > 0 || lastStop === undefined) return known;
    const stop = decodeWaitStateChange(lastStop);
    if (processor >= stop.numberProcessors) return undefined;
    try {
      return await readPaging(processor, stop.processorLevel);
    } catch {
      return undefined;
    }
  };

  const validate = async (stop: Uint8Array): Promise<string | undefined> => {
    const change = decodeWaitStateChange(stop);
    const processor = change.processor;
    const level = change.processorLevel;
    const version = decodeManipulate(await request(encodeManipulate({ layout: 'getVersion', apiNumber: KdApi.GetVersion, processor, processorLevel: level })));
    if (version.layout !== 'getVersion') return 'GetVersion answered with another API';
    if (version.machineType !== KdMachineType.Amd64) return `the target is not x64 (machine type 0x${version.machineType.toString(16)})`;
    const mode = await readPaging(processor, level);
    if (mode === undefined) return `CPU ${processor}'s control registers could not be read over KD`;
    const probes: [string, bigint, number][] = [
      ['the kernel PE header at KernBase', version.kernBase, headerBytes],
      ['the PsLoadedModuleList head', version.psLoadedModuleList, 16],
      [`the bytes at rip 0x${change.programCounter.toString(16)}`, change.programCounter, 16],
    ];
    for (const [what, address, length] of probes) {
      const kd = await readThroughKd(processor, level, address, length);
      if (kd.length === 0) continue; // KD could not read it either: nothing to compare
      const fromSource = new Uint8Array(kd.length);
      if (!(await reader.readVirtualInto(address, fromSource, mode))) return `${what} (0x${address.toString(16)}) is not readable from ${source.description}`;
      const at = firstDifference(kd, fromSource);
      if (at >= 0) return `${what} (0x${address.toString(16)}) differs between ${source.description} and KD at +0x${at.toString(16)}`;
    }
    return undefined;
  };

  /** Validates this stop (the debugger's first read waits), then lets the deferred sends go. */
  const validateNow = async (): Promise<void> => {
    dispatch({ kind: 'validation-started' });
    let reason: string | undefined;
    try {
      reason = lastStop === undefined ? 'no stop to validate at' : await validate(lastStop);
    } catch (error) {
      reason = `the validation reads failed (${error instanceof Error ? error.message : String(error)})`;
    }
    if (state.validating) dispatch(reason === undefined ? { kind: 'validated', ok: true } : { kind: 'validated', ok: false, reason });
  };

  const releaseDeferred = (): void => {
    const sends = deferred;
    deferred = [];
    for (const d of sends) void handle(d.packet).then(() => d.resolve(), (e: unknown) => d.reject(e));
  };

  guest.events$.subscribe({
    next(event) {
      if (event.kind === 'packet') {
        const { packet } = event;
        if (packet.type === KdPacketType.StateManipulate && internal !== undefined && packet.payload.length >= 4 && u32(packet.payload, 0) === internal.apiNumber) {
          const w = internal;
          internal = undefined;
          w.resolve(packet.payload);
          return;
        }
        if (packet.type === KdPacketType.StateChange64) {
          // A new stop: requests still due were dropped by the target (the debugger re-sends them).
          repliesDue = 0;
          forwardedReads.length = 0;
          const checkable = isCheckableStop(packet.payload);
          lastStop = checkable ? packet.payload.slice() : undefined;
          dispatch({ kind: 'stop', checkable });
        } else if (packet.type === KdPacketType.StateManipulate) {
          if (repliesDue > 0) repliesDue--;
          if (packet.payload.length >= HEADER && forwardedReads.length > 0 && u32(packet.payload, 0) === forwardedReads[0]) {
            forwardedReads.shift();
            if (u32(packet.payload, 0) === KdApi.SearchMemory) dispatch({ kind: 'searched', from: 'kd', bytes: 0 });
            else dispatch({ kind: 'served', from: 'kd', bytes: Math.min(u32(packet.payload, 0x1c), packet.payload.length - HEADER) });
          }
        }
      } else if (event.kind === 'disconnect') {
        internal?.reject(new VmkdError(LinkErrorCode.Disconnected, 'the guest went away', { disconnected: true }));
        internal = undefined;
        repliesDue = 0;
        forwardedReads.length = 0;
        dispatch({ kind: 'disconnect' });
      }
      events.next(event);
    },
    error() {
      events.complete();
      notices.complete();
      activity.complete();
    },
    complete() {
      events.complete();
      notices.complete();
      activity.complete();
    },
  });

  const forward = (packet: KdPacket): Promise<void> => {
    if (packet.type === KdPacketType.StateManipulate && packet.payload.length >= HEADER) {
      const api = u32(packet.payload, 0);
      if (SOURCE_READ_APIS.has(api)) forwardedReads.push(api);
      if (!NO_REPLY_APIS.has(api)) repliesDue++;
      dispatch({ kind: 'forwarded', apiNumber: api });
    }
    return guest.send(packet);
  };

  /** Builds the reply from the source, and the event that counts it; undefined when the source cannot serve all of it. */
  const serve = async (payload: Uint8Array): Promise<{ reply: Uint8Array; event: FastPathEvent } | undefined> => {
    const api = u32(payload, 0);
    const processor = u16(payload, 6);
    const view = new DataView(payload.buffer, payload.byteOffset, HEADER);
    const address = view.getBigUint64(0x10, true);
    if (api === KdApi.SearchMemory) return serveSearch(payload, processor, address);
    const count = view.getUint32(0x18, true);
    const reply = new Uint8Array(HEADER + count);
    reply.set(payload.subarray(0, HEADER));
    const data = reply.subarray(HEADER);
    let ok: boolean;
    if (api === KdApi.ReadPhysicalMemory) ok = await reader.readPhysicalInto(address, data);
    else {
      const mode = await pagingFor(processor);
      ok = mode !== undefined && (await reader.readVirtualInto(address, data, mode));
    }
    if (!ok) return undefined;
    const out = new DataView(reply.buffer);
    out.setUint32(8, 0, true); // STATUS_SUCCESS
    out.setUint32(0x1c, count, true); // ActualBytesRead
    return { reply, event: { kind: 'served', from: 'source', bytes: count } };
  };

  /**
   * DBGKD_SEARCH_MEMORY (spec 2.3): SearchAddress, SearchLength, PatternLength, the pattern after
   * the header. The reply is the request's header with the status and FoundAddress, no data, as
   * the target sends it.
   */
  const serveSearch = async (payload: Uint8Array, processor: number, address: bigint): Promise<{ reply: Uint8Array; event: FastPathEvent } | undefined> => {
    const view = new DataView(payload.buffer, payload.byteOffset, HEADER);
    const length = view.getBigUint64(0x18, true);
    const pattern = payload.subarray(HEADER, HEADER + Math.min(view.getUint32(0x20, true), payload.length - HEADER));
    const mode = await pagingFor(processor);
    if (mode === undefined) return undefined;
    const result = await searchFromSource(reader, mode, address, length, pattern);
    if (result.kind === 'kd') return undefined;
    const reply = new Uint8Array(HEADER);
    reply.set(payload.subarray(0, HEADER));
    const out = new DataView(reply.buffer);
    out.setUint32(8, result.kind === 'found' ? 0 : STATUS_NO_MORE_ENTRIES, true);
    out.setBigUint64(0x10, result.kind === 'found' ? result.address : 0n, true);
    return { reply, event: { kind: 'searched', from: 'source', bytes: result.scanned } };
  };

  /** One debugger send: answered from the source, validated first, or forwarded. */
  const handle = async (packet: KdPacket): Promise<void> => {
    if (closed) throw closedError();
    if (state.validating) return new Promise<void>((resolve, reject) => deferred.push({ packet, resolve, reject }));
    if (!isServableRead(packet)) return forward(packet);
    if (requestRoute(state, u32(packet.payload, 0)) === 'validate') {
      if (repliesDue > 0) return forward(packet); // another request's reply is due: validate at a later read
      await validateNow();
      try {
        return await handleRead(packet);
      } finally {
        // Sends that waited go after this read's reply, in order.
        queueMicrotask(releaseDeferred);
      }
    }
    return handleRead(packet);
  };

  const handleRead = async (packet: KdPacket): Promise<void> => {
    if (requestRoute(state, u32(packet.payload, 0)) !== 'source') return forward(packet);
    let served: { reply: Uint8Array; event: FastPathEvent } | undefined;
    try {
      served = await serve(packet.payload);
    } catch (error) {
      notices.next({ level: 'warn', text: `memory source read failed (${error instanceof Error ? error.message : String(error)}); this read goes through KD` });
      served = undefined;
    }
    if (served === undefined) {
      dispatch({ kind: 'fallback' });
      return forward(packet);
    }
    const { reply, event } = served;
    // Delivered after send() settles, as a guest's reply would be.
    queueMicrotask(() => {
      dispatch(event);
      events.next({ kind: 'packet', packet: { type: KdPacketType.StateManipulate, payload: reply } });
    });
  };

  const link: FastPathLink = {
    name: `${guest.name}+memory`,
    role: guest.role,
    events$: events.events$,
    notices$: notices.asObservable(),
    activity$: activity.asObservable(),
    source,
    get connected() {
      return guest.connected;
    },
    send: (packet) => handle(packet),
    breakIn: () => (closed ? Promise.reject(closedError()) : guest.breakIn()),
    resync: () => (closed ? Promise.reject(closedError()) : guest.resync()),
    stats: (): LinkStats => guest.stats(),
    fastPathStats: () => state.stats,
    fastPathState: () => state,
    async close() {
      if (closed) return;
      closed = true;
      for (const d of deferred) d.reject(closedError());
      deferred = [];
      internal?.reject(closedError());
      internal = undefined;
      await guest.close();
      await source.close();
    },
  };
  return link;
}

/** Requests that get no reply packet (spec 2.2): the target runs on, or goes down. */
const NO_REPLY_APIS: ReadonlySet<number> = new Set([KdApi.Continue, KdApi.ContinueApi2, KdApi.Reboot, KdApi.CauseBugCheck]);

/**
 * A well-formed request the source could answer: a read (the 56-byte request alone, 1 … 3944
 * bytes asked) or a SearchMemory (the header and its pattern).
 */
function isServableRead(packet: KdPacket): boolean {
  if (packet.type !== KdPacketType.StateManipulate || packet.payload.length < HEADER) return false;
  const api = u32(packet.payload, 0);
  if (api === KdApi.SearchMemory) return packet.payload.length <= KdLimits.MaxPayload;
  if (packet.payload.length !== HEADER) return false;
  if (api !== KdApi.ReadVirtualMemory && api !== KdApi.ReadPhysicalMemory) return false;
  const count = u32(packet.payload, 0x18);
  return count > 0 && count <= KdLimits.MaxPayload - HEADER;
}

function closedError(): VmkdError {
  return new VmkdError(LinkErrorCode.Closed, 'the link is closed', { canceled: true });
}

/** A DBGKD_WAIT_STATE_CHANGE64 of a kind spec 2.5 defines (exception, load symbols, command string), full length. */
function isCheckableStop(payload: Uint8Array): boolean {
  if (payload.length < KdLimits.StateChangeSize) return false;
  const state = u32(payload, 0) & ~KdStateChange.AlternateFlag;
  return state === KdStateChange.Exception || state === KdStateChange.LoadSymbols || state === KdStateChange.CommandString;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
