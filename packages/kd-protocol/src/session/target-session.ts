import { Subject, type Observable, type Subscription } from 'rxjs';
import { KdApi, KdLimits, KdPacketType, NtStatus, kdApiName } from '../api/constants.js';
import { encodePrintString } from '../api/io.js';
import { MANIPULATE_HEADER, MANIPULATE_LAYOUTS, MANIPULATE_UNION_OFFSET } from '../api/manipulate.js';
import { encodeGetVersion64 } from '../api/version.js';
import { FRAME_ROOM, type KdPacket, type LinkEvent, type PacketLink } from '../packet-link.js';
import type { StopReason, TargetBackend } from '../target-backend.js';
import { sessionError, KdSessionErrorCode } from './errors.js';
import { MAX_FILL, fillMemory, searchVirtual } from './memory-ops.js';
import { breakInStop, buildStateChange, type PlantedBreakpoint } from './state-change-builder.js';

export interface TargetSessionOptions {
  /**
   * Largest payload of one manipulate reply (default 4000). radare2 refuses replies over 2048
   * bytes (spec 1.12); memory reads are clamped to this minus the 56-byte header, which is legal
   * because ActualBytesRead may be smaller than TransferCount.
   */
  readonly maxReplyPayload?: number;
  /** What to report if the backend is already stopped when the session starts (default: a break-in at CPU 0's RIP). */
  readonly initialStop?: StopReason;
  /**
   * DbgPrint packets handed to the link and not yet acknowledged, at most (default 64). A Windows
   * kernel blocks in KdSendPacket until the debugger has each print; a backend cannot be blocked,
   * so prints beyond this bound are dropped and counted (`print-dropped`) instead of queueing
   * without limit behind a slow or absent debugger.
   */
  readonly maxPrintsInFlight?: number;
}

/** One thing the target session did; for traces, statistics and tests. */
export type TargetActivity =
  | { readonly kind: 'state-change'; readonly reason: StopReason; readonly resend: boolean }
  | { readonly kind: 'request'; readonly api: number; readonly apiName: string; readonly status: number | undefined }
  | { readonly kind: 'print'; readonly text: string }
  /** A DbgPrint dropped because `maxPrintsInFlight` were still unacknowledged; `dropped` counts them all. */
  | { readonly kind: 'print-dropped'; readonly text: string; readonly dropped: number }
  | { readonly kind: 'send-error'; readonly error: unknown };

export interface TargetSession {
  /** `stopped` while the debugger owns the target (the state-change/manipulate loop), else `running`. */
  readonly state: 'running' | 'stopped' | 'closed';
  /** The CPU that reported the current stop. */
  readonly currentCpu: number;
  readonly activity$: Observable<TargetActivity>;
  /** Stops serving: unsubscribes from the link and the backend. The link itself stays open (its owner closes it). */
  close(): Promise<void>;
}

const HEADER = KdLimits.ManipulateSize;
/** Request and reply fields, by the layouts the codec uses (spec 2.1, 2.3): one declaration of every offset. */
const H = MANIPULATE_HEADER;
const L = MANIPULATE_LAYOUTS;
/** QueryMemory: addresses from here up are the kernel's (the AMD64 system range). */
const KERNEL_SPACE_START = 0xffff800000000000n;
/** WriteBreakPointEx carries at most the breakpoint table's worth of entries (32 on Windows). */
const BREAKPOINTS_PER_EX = 32;

/** A fresh reply of `length` bytes with room around it for the link's framing (see KdPacket.frameInPlace). */
function replyBuffer(length: number): Uint8Array {
  return new Uint8Array(FRAME_ROOM.head + length + FRAME_ROOM.tail).subarray(FRAME_ROOM.head, FRAME_ROOM.head + length);
}

/**
 * The target role of KD (spec 1.9) over any debugger-facing PacketLink: announces stops as
 * STATE_CHANGE64, serves manipulate requests from a TargetBackend while stopped, and replies the
 * way a Windows kernel does (the request's 56 bytes echoed with ReturnStatus and the output fields
 * set; Continue, ContinueApi2, SwitchProcessor, Reboot and CauseBugCheck unanswered; anything it
 * does not implement answered STATUS_UNSUCCESSFUL). Request bytes it does not use are never checked.
 */
export function createTargetSession(link: PacketLink, backend: TargetBackend, options: TargetSessionOptions = {}): TargetSession {
  if (link.role !== 'debugger-facing') {
    throw sessionError(KdSessionErrorCode.WrongRole, `TargetSession needs a debugger-facing link, ${link.name} is ${link.role}`, { role: link.role });
  }
  const maxReplyPayload = Math.max(HEADER + 1, Math.min(options.maxReplyPayload ?? KdLimits.MaxPayload, KdLimits.MaxAcceptPayload));
  const maxData = maxReplyPayload - HEADER;
  const activity = new Subject<TargetActivity>();
  const subscriptions: Subscription[] = [];

  let state: 'running' | 'stopped' | 'closed' = backend.running ? 'running' : 'stopped';
  let stop: StopReason | undefined;
  let stateChange: Uint8Array | undefined;
  /** True once the current stop was sent to the debugger now attached; a (re)connect resends otherwise. */
  let announced = false;
  /**
   * State changes handed to the link and not yet acknowledged. The link layer retransmits its own
   * pending packet after a RESET (spec 1.6), so announcing again while one is in flight would put
   * a second copy on the wire, and a debugger that ACKed the first answers the second with RESEND
   * (radare2 then drops its next request).
   */
  let stateChangesInFlight = 0;
  const maxPrintsInFlight = options.maxPrintsInFlight ?? 64;
  if (!Number.isInteger(maxPrintsInFlight) || maxPrintsInFlight < 1) {
    throw sessionError(KdSessionErrorCode.BadArgument, `maxPrintsInFlight must be a positive integer, got ${String(maxPrintsInFlight)}`, { field: 'maxPrintsInFlight' });
  }
  let printsInFlight = 0;
  let printsDropped = 0;
  /** Breakpoints planted through WriteBreakPoint, by handle, so state changes can show the original bytes. */
  const planted = new Map<number, PlantedBreakpoint>();

  const send = (packet: KdPacket): void => {
    // Sends queue FIFO in the link; a failure (no debugger yet, link closed) is not fatal for a
    // target: the pending state change goes out again on the next connect or reset.
    link.send(packet).catch((error: unknown) => {
      if (state !== 'closed') activity.next({ kind: 'send-error', error });
    });
  };

  const announce = (resend: boolean): void => {
    if (stop === undefined || stateChange === undefined) return;
    if (resend && stateChangesInFlight > 0) return;
    announced = true;
    activity.next({ kind: 'state-change', reason: stop, resend });
    stateChangesInFlight += 1;
    link
      .send({ type: KdPacketType.StateChange64, payload: stateChange })
      .catch((error: unknown) => {
        if (state !== 'closed') activity.next({ kind: 'send-error', error });
      })
      .finally(() => {
        stateChangesInFlight -= 1;
      });
  };

  const enterStopped = (reason: StopReason): void => {
    state = 'stopped';
    // A KDCOM link answers RESET and RESEND again (spec 1.9).
    link.setTargetRunning?.(false);
    stop = reason;
    stateChange = buildStateChange(backend, reason, planted.values());
    announce(false);
  };

  const cpuFor = (processor: number): number => (processor < backend.processorCount ? processor : (stop?.cpu ?? 0));

  const resume = (singleStep: boolean, continueStatus: number, dr7?: bigint): void => {
    const cpu = stop?.cpu ?? 0;
    leaveStopped();
    // resume() may report the next stop synchronously (a single step); enterStopped handles it.
    backend.resume(dr7 === undefined ? { singleStep, cpu, continueStatus } : { singleStep, cpu, continueStatus, dr7 });
  };

  const leaveStopped = (): void => {
    state = 'running';
    // Windows-faithful: a running kernel only polls for the break-in byte (spec 1.9).
    link.setTargetRunning?.(true);
    stop = undefined;
    stateChange = undefined;
  };

  /** WriteBreakPoint's work: plants an int3 and remembers the byte it replaced; undefined if unwritable. */
  const plant = (address: bigint, cpu: number): number | undefined => {
    // The byte the int3 replaces; a repeat at a planted address keeps the first original.
    const before = backend.readVirtual(address, 1, cpu);
    const handle = backend.writeBreakpoint(address);
    if (handle !== undefined && before.length === 1 && planted.get(handle)?.address !== address) {
      planted.set(handle, { address, original: before[0] });
    }
    return handle;
  };

  const unplant = (handle: number): boolean => {
    const done = backend.restoreBreakpoint(handle);
    if (done) planted.delete(handle);
    return done;
  };

  /** Replies with the request's 56 bytes echoed, ReturnStatus set, `patch` applied, `data` appended. */
  const reply = (request: Uint8Array, status: number, data?: Uint8Array, patch?: (view: DataView) => void): void => {
    const out = replyBuffer(HEADER + (data?.length ?? 0));
    if (data !== undefined) out.set(data, HEADER);
    replyIn(out, request, status, patch);
  };

  /**
   * Sends `out` (a view from replyBuffer(), its data already in place after the header) with the
   * request's header echoed into it. The buffer is the link's from here on, so it may frame the
   * reply around it instead of copying.
   */
  const replyIn = (out: Uint8Array, request: Uint8Array, status: number, patch?: (view: DataView) => void): void => {
    out.set(request.subarray(0, HEADER));
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    view.setUint32(H.returnStatus.offset, status >>> 0, true);
    patch?.(view);
    send({ type: KdPacketType.StateManipulate, payload: out, frameInPlace: true });
  };

  const dispatch = (payload: Uint8Array): void => {
    if (payload.length < HEADER) return; // not even a header to echo; a real stub drops it too
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const api = view.getUint32(H.apiNumber.offset, true);
    const cpu = cpuFor(view.getUint16(H.processor.offset, true));
    const address = view.getBigUint64(L.readMemory.targetBaseAddress.offset, true);
    const count = view.getUint32(L.readMemory.transferCount.offset, true);
    const data = payload.subarray(HEADER);
    let status: number | undefined = NtStatus.Unsuccessful;
    const ok = (cond: boolean): number => (cond ? NtStatus.Success : NtStatus.Unsuccessful);

    switch (api) {
      case KdApi.ReadVirtualMemory:
      case KdApi.ReadPhysicalMemory:
      case KdApi.ReadControlSpace: {
        const n = Math.min(count, maxData);
        const fillsInPlace = api === KdApi.ReadVirtualMemory ? backend.readVirtualInto !== undefined : api === KdApi.ReadPhysicalMemory && backend.readPhysicalInto !== undefined;
        if (fillsInPlace) {
          // The backend fills the reply itself: one buffer, no second copy of the data.
          const out = replyBuffer(HEADER + n);
          const into = out.subarray(HEADER);
          const filled = api === KdApi.ReadVirtualMemory ? backend.readVirtualInto?.(address, into, cpu) : backend.readPhysicalInto?.(address, into);
          // Trust no more than was asked for and fits (a backend's count is only a claim).
          const got = Math.max(0, Math.min(Math.floor(filled ?? 0) || 0, n));
          status = ok(got === n);
          replyIn(out.subarray(0, HEADER + got), payload, status, (v) => v.setUint32(L.readMemory.actualBytesRead.offset, got, true));
          break;
        }
        const bytes =
          api === KdApi.ReadVirtualMemory
            ? backend.readVirtual(address, n, cpu)
            : api === KdApi.ReadPhysicalMemory
              ? backend.readPhysical(address, n)
              : backend.readControlSpace(cpu, address, n);
        const got = Math.min(bytes.length, n);
        status = ok(got === n);
        reply(payload, status, bytes.subarray(0, got), (v) => v.setUint32(L.readMemory.actualBytesRead.offset, got, true));
        break;
      }
      case KdApi.WriteVirtualMemory:
      case KdApi.WritePhysicalMemory:
      case KdApi.WriteControlSpace: {
        const bytes = data.subarray(0, Math.min(count, data.length));
        const written =
          api === KdApi.WriteVirtualMemory
            ? backend.writeVirtual(address, bytes, cpu)
            : api === KdApi.WritePhysicalMemory
              ? backend.writePhysical(address, bytes)
              : backend.writeControlSpace(cpu, address, bytes);
        status = ok(written === count);
        reply(payload, status, undefined, (v) => v.setUint32(L.writeMemory.actualBytesWritten.offset, written, true));
        break;
      }
      case KdApi.GetContext: {
        const context = backend.getContext(cpu);
        status = NtStatus.Success;
        reply(payload, status, context);
        break;
      }
      case KdApi.SetContext: {
        status = ok(data.length >= KdLimits.Amd64ContextSize);
        if (status === NtStatus.Success) backend.setContext(cpu, data.slice(0, KdLimits.Amd64ContextSize));
        reply(payload, status);
        break;
      }
      case KdApi.WriteBreakPoint: {
        const handle = plant(address, cpu);
        status = ok(handle !== undefined);
        reply(payload, status, undefined, (v) => v.setUint32(L.writeBreakPoint.breakPointHandle.offset, handle ?? 0, true));
        break;
      }
      case KdApi.RestoreBreakPoint: {
        status = ok(unplant(view.getUint32(L.restoreBreakPoint.breakPointHandle.offset, true)));
        reply(payload, status);
        break;
      }
      case KdApi.GetVersion: {
        const version = encodeGetVersion64(backend.version());
        status = NtStatus.Success;
        reply(payload, status, undefined, (v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength).set(version, MANIPULATE_UNION_OFFSET));
        break;
      }
      case KdApi.ReadIoSpace: {
        const value = backend.readIoSpace?.(address, count);
        status = ok(value !== undefined);
        reply(payload, status, undefined, (v) => v.setUint32(L.readWriteIo.dataValue.offset, (value ?? 0) >>> 0, true));
        break;
      }
      case KdApi.WriteIoSpace: {
        status = ok(backend.writeIoSpace?.(address, count, view.getUint32(L.readWriteIo.dataValue.offset, true)) ?? false);
        reply(payload, status);
        break;
      }
      case KdApi.ReadIoSpaceExtended:
      case KdApi.WriteIoSpaceExtended: {
        // DBGKD_READ_WRITE_IO_EXTENDED64: DataSize, InterfaceType, BusNumber, AddressSpace, IoAddress, DataValue (spec 2.3).
        const size = view.getUint32(L.readWriteIoExtended.dataSize.offset, true);
        const busNumber = view.getUint32(L.readWriteIoExtended.busNumber.offset, true);
        const space = view.getUint32(L.readWriteIoExtended.addressSpace.offset, true);
        const io = view.getBigUint64(L.readWriteIoExtended.ioAddress.offset, true);
        const write = api === KdApi.WriteIoSpaceExtended;
        let value: number | undefined;
        if (busNumber !== 0 || (size !== 1 && size !== 2 && size !== 4)) value = undefined;
        else if (space === 1) {
          value = write ? (backend.writeIoSpace?.(io, size, view.getUint32(L.readWriteIoExtended.dataValue.offset, true)) === true ? 0 : undefined) : backend.readIoSpace?.(io, size);
        } else if (space === 0) {
          // Memory space: the physical address itself.
          if (write) {
            const bytes = new Uint8Array(4);
            new DataView(bytes.buffer).setUint32(0, view.getUint32(L.readWriteIoExtended.dataValue.offset, true), true);
            value = backend.writePhysical(io, bytes.subarray(0, size)) === size ? 0 : undefined;
          } else {
            const bytes = backend.readPhysical(io, size);
            value = bytes.length === size ? bytes.reduceRight((acc, b) => acc * 256 + b, 0) : undefined;
          }
        }
        status = ok(value !== undefined);
        reply(payload, status, undefined, (v) => {
          if (!write) v.setUint32(L.readWriteIoExtended.dataValue.offset, (value ?? 0) >>> 0, true);
        });
        break;
      }
      case KdApi.GetBusData:
      case KdApi.SetBusData: {
        // DBGKD_GET_SET_BUS_DATA: BusDataType, BusNumber, SlotNumber, Offset, Length (spec 2.3).
        const B = L.getSetBusData;
        const busDataType = view.getUint32(B.busDataType.offset, true);
        const busNumber = view.getUint32(B.busNumber.offset, true);
        const slot = view.getUint32(B.slotNumber.offset, true);
        const offset = view.getUint32(B.offset.offset, true);
        const length = Math.min(view.getUint32(B.length.offset, true), maxData);
        if (api === KdApi.GetBusData) {
          const bytes = backend.readBusData?.(busDataType, busNumber, slot, offset, length);
          status = ok(bytes !== undefined && bytes.length > 0);
          const got = bytes === undefined ? new Uint8Array(0) : bytes.subarray(0, length);
          reply(payload, status, got, (v) => v.setUint32(B.length.offset, got.length, true));
        } else {
          const taken = backend.writeBusData?.(busDataType, busNumber, slot, offset, data.subarray(0, length));
          status = ok(taken !== undefined && taken > 0);
          reply(payload, status, undefined, (v) => v.setUint32(B.length.offset, taken ?? 0, true));
        }
        break;
      }
      case KdApi.SearchMemory: {
        // DBGKD_SEARCH_MEMORY: SearchAddress (out: FoundAddress), SearchLength, PatternLength; the pattern follows.
        const length = view.getBigUint64(L.searchMemory.searchLength.offset, true);
        const pattern = data.subarray(0, Math.min(view.getUint32(L.searchMemory.patternLength.offset, true), data.length));
        const found = pattern.length === 0 ? undefined : searchVirtual(backend, cpu, address, length, pattern);
        status = found === undefined ? NtStatus.NoMoreEntries : NtStatus.Success;
        reply(payload, status, undefined, (v) => v.setBigUint64(L.searchMemory.searchAddress.offset, found ?? 0n, true));
        break;
      }
      case KdApi.FillMemory: {
        // DBGKD_FILL_MEMORY: Address, Length, Flags (1 virtual, 2 physical), PatternLength; the pattern follows.
        const F = L.fillMemory;
        const length = view.getUint32(F.length.offset, true);
        const flags = view.getUint16(F.flags.offset, true);
        const pattern = data.subarray(0, Math.min(view.getUint16(F.patternLength.offset, true), data.length));
        const filled = pattern.length === 0 || (flags !== 1 && flags !== 2) ? 0 : fillMemory(backend, cpu, flags === 2, address, Math.min(length, MAX_FILL), pattern);
        status = ok(filled === length && pattern.length > 0);
        reply(payload, status, undefined, (v) => v.setUint32(F.length.offset, filled, true));
        break;
      }
      case KdApi.QueryMemory: {
        // DBGKD_QUERY_MEMORY: in Address; out AddressSpace (0 process, 1 session, 2 kernel) and Flags (spec 2.3).
        const access = backend.queryMemory?.(address, cpu) ?? (backend.readVirtual(address, 1, cpu).length === 1 ? { writable: true, executable: true } : undefined);
        status = ok(access !== undefined);
        reply(payload, status, undefined, (v) => {
          v.setUint32(L.queryMemory.addressSpace.offset, address >= KERNEL_SPACE_START ? 2 : 0, true);
          v.setUint32(L.queryMemory.flags.offset, access === undefined ? 0 : 1 | (access.writable ? 2 : 0) | (access.executable ? 4 : 0), true);
        });
        break;
      }
      case KdApi.GetContextEx:
      case KdApi.SetContextEx: {
        // DBGKD_CONTEXT_EX: Offset, ByteCount, BytesCopied: a window on the CONTEXT (spec 2.3).
        const context = backend.getContext(cpu);
        const X = L.contextEx;
        const offset = view.getUint32(X.offset.offset, true);
        const byteCount = view.getUint32(X.byteCount.offset, true);
        if (offset > context.length) {
          status = NtStatus.Unsuccessful;
          reply(payload, status, undefined, (v) => v.setUint32(X.bytesCopied.offset, 0, true));
          break;
        }
        if (api === KdApi.GetContextEx) {
          const bytes = context.subarray(offset, offset + Math.min(byteCount, maxData));
          status = NtStatus.Success;
          reply(payload, status, bytes, (v) => v.setUint32(X.bytesCopied.offset, bytes.length, true));
        } else {
          const bytes = data.subarray(0, Math.min(byteCount, data.length, context.length - offset));
          const next = context.slice();
          next.set(bytes, offset);
          backend.setContext(cpu, next);
          status = NtStatus.Success;
          reply(payload, status, undefined, (v) => v.setUint32(X.bytesCopied.offset, bytes.length, true));
        }
        break;
      }
      case KdApi.WriteBreakPointEx:
      case KdApi.RestoreBreakPointEx: {
        // DBGKD_BREAKPOINTEX: BreakPointCount, ContinueStatus; then that many DBGKD_WRITE_BREAKPOINT64
        // {BreakPointAddress u64, BreakPointHandle u32, pad} whose handles the reply fills in.
        const entries = Math.min(view.getUint32(L.breakPointEx.breakPointCount.offset, true), Math.floor(data.length / 16), BREAKPOINTS_PER_EX);
        const out = data.slice(0, entries * 16);
        const o = new DataView(out.buffer);
        let all = entries > 0;
        for (let i = 0; i < entries; i++) {
          if (api === KdApi.WriteBreakPointEx) {
            const handle = plant(o.getBigUint64(i * 16, true), cpu);
            o.setUint32(i * 16 + 8, handle ?? 0, true);
            all &&= handle !== undefined;
          } else {
            all = unplant(o.getUint32(i * 16 + 8, true)) && all;
          }
        }
        status = ok(all);
        reply(payload, status, out);
        break;
      }
      case KdApi.CheckLowMemory:
        // Nothing here maps memory above 4 GiB twice: the check passes.
        status = NtStatus.Success;
        reply(payload, status);
        break;
      case KdApi.ReadMachineSpecificRegister: {
        const M = L.readWriteMsr;
        const value = backend.readMsr?.(cpu, view.getUint32(M.msr.offset, true));
        status = ok(value !== undefined);
        reply(payload, status, undefined, (v) => {
          v.setUint32(M.dataValueLow.offset, Number((value ?? 0n) & 0xffffffffn), true);
          v.setUint32(M.dataValueHigh.offset, Number(((value ?? 0n) >> 32n) & 0xffffffffn), true);
        });
        break;
      }
      case KdApi.WriteMachineSpecificRegister: {
        const M = L.readWriteMsr;
        const value = (BigInt(view.getUint32(M.dataValueHigh.offset, true)) << 32n) | BigInt(view.getUint32(M.dataValueLow.offset, true));
        status = ok(backend.writeMsr?.(cpu, view.getUint32(M.msr.offset, true), value) ?? false);
        reply(payload, status);
        break;
      }
      case KdApi.Continue:
        status = undefined;
        activity.next({ kind: 'request', api, apiName: 'Continue', status });
        resume(false, view.getUint32(L.continue.continueStatus.offset, true));
        return;
      case KdApi.ContinueApi2:
        status = undefined;
        activity.next({ kind: 'request', api, apiName: 'ContinueApi2', status });
        // The AMD64 control set: ContinueStatus, TraceFlag, Dr7 (spec 2.3).
        resume(view.getUint32(L.continue2.traceFlag.offset, true) !== 0, view.getUint32(L.continue2.continueStatus.offset, true), view.getBigUint64(L.continue2.dr7.offset, true));
        return;
      case KdApi.SwitchProcessor: {
        // No reply: the selected processor reports a state change of its own (spec 1.9).
        status = undefined;
        activity.next({ kind: 'request', api, apiName: 'SwitchProcessor', status });
        const target = view.getUint16(6, true);
        if (target < backend.processorCount && target !== stop?.cpu) {
          const context = backend.getContext(target);
          const rip = new DataView(context.buffer, context.byteOffset, context.byteLength).getBigUint64(0xf8, true);
          enterStopped({ kind: 'exception', cpu: target, code: NtStatus.WakeSystemDebugger, address: rip, firstChance: true });
        } else {
          announce(true);
        }
        return;
      }
      case KdApi.Reboot:
        // No reply: the machine restarts; the new boot's stops reach the debugger as they come.
        status = undefined;
        if (backend.reboot !== undefined) {
          leaveStopped();
          backend.reboot();
        }
        break;
      case KdApi.CauseBugCheck:
        // No reply: the kernel bugchecks and reports the bugcheck breakpoint as a new stop.
        status = undefined;
        if (backend.bugCheck !== undefined) {
          leaveStopped();
          backend.bugCheck(cpu);
        }
        break;
      case KdApi.ClearAllInternalBreakpoints:
        // No reply (as ReactOS, spec 2.2); this stub keeps no internal (counting) breakpoints to clear.
        status = undefined;
        break;
      default:
        // Unknown, unassigned, obsolete (PageIn, the old VLM calls) or not served here (special calls,
        // internal breakpoints, partitions, custom breakpoints): STATUS_UNSUCCESSFUL, as spec 2.2 asks.
        reply(payload, status);
    }
    activity.next({ kind: 'request', api, apiName: kdApiName(api) ?? `0x${api.toString(16)}`, status });
  };

  const onLinkEvent = (event: LinkEvent): void => {
    switch (event.kind) {
      case 'packet':
        // A KD stub reads manipulate requests only in its stopped loop; anything else (a DEBUG_IO
        // GetString answer, a FILE_IO reply we never asked for) has no taker here.
        if (state === 'stopped' && event.packet.type === KdPacketType.StateManipulate) dispatch(event.packet.payload);
        break;
      case 'breakin':
        if (state === 'running') backend.breakIn();
        else if (state === 'stopped') announce(true); // spec 1.9: a pending break-in means "send the state change again"
        break;
      case 'reset':
        if (state === 'stopped') announce(true);
        break;
      case 'connect':
        if (state === 'stopped' && !announced) announce(true);
        break;
      case 'disconnect':
        announced = false;
        break;
    }
  };

  subscriptions.push(
    backend.events$.subscribe((event) => {
      if (state === 'closed') return;
      if (event.kind === 'stop') enterStopped(event.reason);
      else if (event.kind === 'reboot') {
        // The handles died with the old kernel; the debugger learns of the new boot from its stops,
        // which the link numbers from a fresh KD state, as a rebooted Windows does (spec 1.5).
        planted.clear();
        leaveStopped();
        link.targetRestarted?.();
      } else if (printsInFlight >= maxPrintsInFlight) {
        printsDropped += 1;
        activity.next({ kind: 'print-dropped', text: event.text, dropped: printsDropped });
      } else {
        activity.next({ kind: 'print', text: event.text });
        printsInFlight += 1;
        link
          .send({ type: KdPacketType.DebugIo, payload: encodePrintString(event.text, stop?.cpu ?? 0, backend.processorLevel()) })
          .catch((error: unknown) => {
            if (state !== 'closed') activity.next({ kind: 'send-error', error });
          })
          .finally(() => {
            printsInFlight -= 1;
          });
      }
    }),
  );
  subscriptions.push(link.events$.subscribe({ next: onLinkEvent }));

  link.setTargetRunning?.(state === 'running');
  if (state === 'stopped') {
    stop = options.initialStop ?? backend.stopReason?.() ?? breakInStop(backend);
    stateChange = buildStateChange(backend, stop, planted.values());
    if (link.connected) announce(false);
  }

  return {
    get state() {
      return state;
    },
    get currentCpu() {
      return stop?.cpu ?? 0;
    },
    activity$: activity.asObservable(),
    close(): Promise<void> {
      if (state !== 'closed') {
        state = 'closed';
        for (const s of subscriptions) s.unsubscribe();
        activity.complete();
      }
      return Promise.resolve();
    },
  };
}
