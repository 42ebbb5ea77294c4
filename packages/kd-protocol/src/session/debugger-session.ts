import { Subject, type Observable, type Subscription } from 'rxjs';
import { Amd64SpecialRegisterOffset, CpuContext, decodeAmd64SpecialRegisters, type Amd64SpecialRegisters } from '../api/context.js';
import { KdApi, KdDebugIoApi, KdLimits, KdPacketType, NtStatus, kdApiName, ntSuccess } from '../api/constants.js';
import { decodeDebugIo, decodeFileIo, decodeTraceIo, debugIoText, encodeDebugIo, encodeFileIo, ansiBytes, type FileIo } from '../api/io.js';
import { DR7_RESERVED, encodeDr7, type HardwareBreakpoint } from '../api/debug-registers.js';
import {
  BusDataType,
  FillMemoryFlag,
  MANIPULATE_HEADER,
  MANIPULATE_LAYOUTS,
  MANIPULATE_UNION_OFFSET,
  QueryMemoryFlag,
  QueryMemorySpace,
  decodeBreakpointEntries,
  decodeManipulate,
  encodeBreakpointEntries,
  encodeManipulate,
  isMemoryTransferApi,
  type ManipulateInit,
  type ManipulateLayoutName,
  type ManipulateOf,
  type ManipulateState,
} from '../api/manipulate.js';
import { systemClock, type KdcomClock } from '../kdcom/clock.js';
import { decodeWaitStateChange, type WaitStateChange } from '../api/state-change.js';
import { decodeGetVersion64, type GetVersion64 } from '../api/version.js';
import { isVmkdError, type VmkdError } from '../errors.js';
import type { KdPacket, LinkEvent, PacketLink } from '../packet-link.js';
import { KdSessionErrorCode, sessionError } from './errors.js';

export interface DebuggerSessionOptions {
  /** Timeout of every call, in ms (default 5000). Each call also takes its own `timeoutMs`. */
  readonly timeoutMs?: number;
  /** Data bytes per memory request (default and maximum 3944 = 4000 − 56). */
  readonly chunkSize?: number;
  /** attach() in `auto` mode: how long to wait for the state change after RESET before breaking in (default 250 ms). */
  readonly attachProbeMs?: number;
  /** How many times a request is re-sent when the target reports a new stop instead of answering (default 3). */
  readonly maxInterruptions?: number;
  /** Answers a DbgPrompt (DEBUG_IO GetString); default: an empty line. */
  readonly onPrompt?: (prompt: string) => string;
  /** Time source for every timeout (default: the event loop); tests pass a virtual clock. */
  readonly clock?: KdcomClock;
}

/** What QueryMemory says about an address. */
export interface MemoryQuery {
  readonly addressSpace: 'process' | 'session' | 'kernel';
  readonly read: boolean;
  readonly write: boolean;
  readonly execute: boolean;
  readonly fixed: boolean;
}

/** An address in a bus's I/O or memory space (ReadIoSpaceExtended / WriteIoSpaceExtended). */
export interface IoSpaceAddress {
  readonly address: bigint;
  readonly size: 1 | 2 | 4;
  /** 1 I/O space (default), 0 memory space. */
  readonly addressSpace?: 0 | 1;
  /** INTERFACE_TYPE (default 1, Isa). */
  readonly interfaceType?: number;
  readonly busNumber?: number;
}

/** A slot on a bus (GetBusData / SetBusData). */
export interface BusSlot {
  /** BUS_DATA_TYPE (default 4, PCI configuration space). */
  readonly busDataType?: number;
  readonly busNumber: number;
  /** PCI_SLOT_NUMBER: device in bits 0–4, function in bits 5–7. */
  readonly slotNumber: number;
}

export interface CallOptions {
  readonly timeoutMs?: number;
  /** CPU the request applies to (default: the CPU that reported the last stop). */
  readonly processor?: number;
}

export interface MemoryOptions extends CallOptions {
  /** Data bytes per request for this call (1 … 3944). */
  readonly chunkSize?: number;
}

export interface PhysicalMemoryOptions extends MemoryOptions {
  /** ReadPhysicalMemory caching flag: 0 default, 1 cached, 2 uncached, 3 write-combined. */
  readonly caching?: 0 | 1 | 2 | 3;
}

/**
 * A memory read as Windows reports it: the bytes actually read (a prefix of what was asked) and the
 * NTSTATUS of the request that ended it (0 when everything was read, else the target's failure
 * status, STATUS_UNSUCCESSFUL 0xC0000001 from Windows).
 */
export interface MemoryReadResult {
  readonly data: Uint8Array;
  readonly bytesRead: number;
  readonly status: number;
}

export interface MemoryWriteResult {
  readonly bytesWritten: number;
  readonly status: number;
}

export interface ContinueOptions extends CallOptions {
  /** ContinueStatus (default DBG_CONTINUE 0x00010002). */
  readonly status?: number;
  /** Dr7 of the ContinueApi2 control set (default: what setHardwareBreakpoints() last armed, else 0x400 as WinDbg sends). */
  readonly dr7?: bigint;
  /** Send the old Continue (0x3136) instead of ContinueApi2. */
  readonly legacy?: boolean;
}

export type DebuggerEvent =
  /** The target stopped (exception, breakpoint, single step, break-in, load/unload symbols, command string). */
  | { readonly kind: 'state-change'; readonly stateChange: WaitStateChange }
  /** DbgPrint text (DEBUG_IO PrintString). */
  | { readonly kind: 'print'; readonly text: string; readonly processor: number }
  /** DbgPrompt; the session answered with `answer`. */
  | { readonly kind: 'prompt'; readonly prompt: string; readonly answer: string }
  | { readonly kind: 'trace'; readonly data: Uint8Array }
  /** A `.kdfiles` request; the session answered STATUS_NO_SUCH_FILE. */
  | { readonly kind: 'file-io'; readonly request: FileIo }
  | { readonly kind: 'reset' }
  | { readonly kind: 'connect' }
  | { readonly kind: 'disconnect'; readonly error?: VmkdError }
  /** A packet the session could not decode (it is dropped). */
  | { readonly kind: 'malformed'; readonly packet: KdPacket; readonly error: unknown };

export type DebuggerState = 'detached' | 'stopped' | 'running' | 'closed';

interface Pending {
  readonly request: Uint8Array;
  readonly matchAddress: boolean;
  resolve(reply: Uint8Array): void;
  reject(error: Error): void;
}

/** Internal signal: the target reported a stop while a request waited; the request is re-sent. */
const INTERRUPTED = new Error('the target reported a new stop');
const HEADER = KdLimits.ManipulateSize;
/** Request and reply fields by the layout table (spec 2.1, 2.3), declared once in api/manipulate.ts. */
const API_NUMBER = MANIPULATE_HEADER.apiNumber.offset;
const RETURN_STATUS = MANIPULATE_HEADER.returnStatus.offset;
const READ = MANIPULATE_LAYOUTS.readMemory;
const WRITE = MANIPULATE_LAYOUTS.writeMemory;

/**
 * The debugger role of KD (spec 1.10) over any target-facing PacketLink: attach, requests one at
 * a time (each with a timeout), memory I/O chunked to the packet limit, contexts, breakpoints,
 * continue/step/break-in, and an `events$` of stops and DbgPrint text.
 */
export class DebuggerSession {
  readonly events$: Observable<DebuggerEvent>;
  private readonly events = new Subject<DebuggerEvent>();
  private readonly timeoutMs: number;
  private readonly chunkSize: number;
  private readonly attachProbeMs: number;
  private readonly maxInterruptions: number;
  private readonly onPrompt: (prompt: string) => string;
  private readonly subscription: Subscription;
  private stateValue: DebuggerState = 'detached';
  private last: WaitStateChange | undefined;
  private pending: Pending | undefined;
  private readonly stopWaiters = new Set<{ resolve(s: WaitStateChange): void; reject(e: Error): void }>();
  /**
   * A stop reported after the last resume that no waiter has taken yet. `continue()` resolves when
   * the target has the packet; its stop can be processed before that promise settles (the ACK and
   * the state change arrive in one read), so `await continue(); await waitForStateChange()` must
   * still see it.
   */
  private unclaimedStop: WaitStateChange | undefined;
  /** Serialises calls: KD allows one outstanding request. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly clock: KdcomClock;
  /** Dr7 for the next ContinueApi2: the enables of the hardware breakpoints set through this session. */
  private hardwareDr7 = DR7_RESERVED;

  constructor(
    private readonly link: PacketLink,
    options: DebuggerSessionOptions = {},
  ) {
    if (link.role !== 'target-facing') {
      throw sessionError(KdSessionErrorCode.WrongRole, `DebuggerSession needs a target-facing link, ${link.name} is ${link.role}`, { role: link.role });
    }
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.chunkSize = clampChunk(options.chunkSize ?? KdLimits.MaxManipulateData);
    this.attachProbeMs = options.attachProbeMs ?? 250;
    this.maxInterruptions = options.maxInterruptions ?? 3;
    this.onPrompt = options.onPrompt ?? (() => '');
    this.clock = options.clock ?? systemClock;
    this.events$ = this.events.asObservable();
    this.subscription = link.events$.subscribe({
      next: (event) => this.onLinkEvent(event),
      error: (error: unknown) => this.lose(isVmkdError(error) ? error : undefined),
      complete: () => this.lose(undefined),
    });
  }

  /** `stopped` while the target waits for requests; `running` after continue; `detached` before attach or after the target vanished. */
  get state(): DebuggerState {
    return this.stateValue;
  }

  /** The last state change the target reported. */
  get lastStateChange(): WaitStateChange | undefined {
    return this.last;
  }

  /** The CPU that reported the last stop: the default target of requests. */
  get currentProcessor(): number {
    return this.last?.processor ?? 0;
  }

  /**
   * Attaches: RESET (a stopped target re-sends its state change) and, if nothing comes within
   * `attachProbeMs` (a running target ignores RESET), a break-in. Resolves with the state change.
   * `breakIn: 'always'` sends the break-in byte first, as radare2 does; `never` only resyncs.
   */
  async attach(options: { timeoutMs?: number; breakIn?: 'auto' | 'always' | 'never' } = {}): Promise<WaitStateChange> {
    this.assertOpen();
    const mode = options.breakIn ?? 'auto';
    const stopped = this.nextStop(options.timeoutMs);
    let settled = false;
    stopped.then(
      () => (settled = true),
      () => (settled = true),
    );
    const linkCall = (call: Promise<void>): void => {
      call.catch((error: unknown) => this.failStopWaiters(this.wrapLinkError(error, 'attach')));
    };
    if (mode === 'always') linkCall(this.link.breakIn());
    linkCall(this.link.resync());
    if (mode === 'auto') {
      const probe = this.clock.setTimeout(() => {
        if (!settled && this.stateValue !== 'closed') linkCall(this.link.breakIn());
      }, this.attachProbeMs);
      stopped.then(
        () => this.clock.clearTimeout(probe),
        () => this.clock.clearTimeout(probe),
      );
    }
    return stopped;
  }

  /**
   * Resolves with the next state change after the last continue (or break-in, single step,
   * processor switch): at once if the target has already reported it.
   */
  waitForStateChange(timeoutMs = this.timeoutMs): Promise<WaitStateChange> {
    if (this.stateValue === 'closed') return Promise.reject(this.closedError());
    const unclaimed = this.unclaimedStop;
    if (unclaimed !== undefined) {
      this.unclaimedStop = undefined;
      return Promise.resolve(unclaimed);
    }
    return this.nextStop(timeoutMs);
  }

  /** The next state change the target reports from now on (what the session's own calls wait for). */
  private nextStop(timeoutMs: number = this.timeoutMs): Promise<WaitStateChange> {
    if (this.stateValue === 'closed') return Promise.reject(this.closedError());
    this.unclaimedStop = undefined;
    return new Promise<WaitStateChange>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.stopWaiters.delete(waiter);
        reject(sessionError(KdSessionErrorCode.Timeout, `no state change from the target within ${timeoutMs} ms`, { api: 'StateChange', timeoutMs }));
      }, timeoutMs);
      const waiter = {
        resolve: (s: WaitStateChange) => {
          this.clock.clearTimeout(timer);
          resolve(s);
        },
        reject: (e: Error) => {
          this.clock.clearTimeout(timer);
          reject(e);
        },
      };
      this.stopWaiters.add(waiter);
    });
  }

  /** GetVersion: the target's DBGKD_GET_VERSION64. */
  async getVersion(options: CallOptions = {}): Promise<GetVersion64> {
    const reply = await this.call({ layout: 'getVersion', apiNumber: KdApi.GetVersion }, options);
    checkStatus(reply, 'GetVersion');
    return decodeGetVersion64(reply.subarray(MANIPULATE_UNION_OFFSET, HEADER));
  }

  /** Reads virtual memory, chunked; a short read returns the readable prefix with the failure status. */
  readVirtual(address: bigint, length: number, options: MemoryOptions = {}): Promise<MemoryReadResult> {
    return this.readInto(KdApi.ReadVirtualMemory, address, new Uint8Array(checkLength(length)), options, 0);
  }

  /** Like readVirtual() into a caller's buffer (no allocation per call); `data` is a view of it. */
  readVirtualInto(address: bigint, target: Uint8Array, options: MemoryOptions = {}): Promise<MemoryReadResult> {
    return this.readInto(KdApi.ReadVirtualMemory, address, target, options, 0);
  }

  readPhysical(address: bigint, length: number, options: PhysicalMemoryOptions = {}): Promise<MemoryReadResult> {
    return this.readInto(KdApi.ReadPhysicalMemory, address, new Uint8Array(checkLength(length)), options, options.caching ?? 0);
  }

  readPhysicalInto(address: bigint, target: Uint8Array, options: PhysicalMemoryOptions = {}): Promise<MemoryReadResult> {
    return this.readInto(KdApi.ReadPhysicalMemory, address, target, options, options.caching ?? 0);
  }

  writeVirtual(address: bigint, data: Uint8Array, options: MemoryOptions = {}): Promise<MemoryWriteResult> {
    return this.writeFrom(KdApi.WriteVirtualMemory, address, data, options, 0);
  }

  writePhysical(address: bigint, data: Uint8Array, options: PhysicalMemoryOptions = {}): Promise<MemoryWriteResult> {
    return this.writeFrom(KdApi.WritePhysicalMemory, address, data, options, options.caching ?? 0);
  }

  /** ReadControlSpace: on AMD64 offset 0 = KPCR, 1 = KPRCB, 2 = KSPECIAL_REGISTERS (0xE0), 3 = KTHREAD. */
  readControlSpace(processor: number, offset: bigint, length: number, options: CallOptions = {}): Promise<MemoryReadResult> {
    return this.readInto(KdApi.ReadControlSpace, offset, new Uint8Array(checkLength(length)), { ...options, processor }, 0);
  }

  writeControlSpace(processor: number, offset: bigint, data: Uint8Array, options: CallOptions = {}): Promise<MemoryWriteResult> {
    return this.writeFrom(KdApi.WriteControlSpace, offset, data, { ...options, processor }, 0);
  }

  /** The AMD64 KSPECIAL_REGISTERS of a CPU (control space offset 2). */
  async getSpecialRegisters(processor = this.currentProcessor, options: CallOptions = {}): Promise<Amd64SpecialRegisters> {
    const r = await this.readControlSpace(processor, 2n, KdLimits.Amd64SpecialRegistersSize, options);
    if (r.bytesRead !== KdLimits.Amd64SpecialRegistersSize) throw statusError('ReadControlSpace', r.status || NtStatus.Unsuccessful);
    return decodeAmd64SpecialRegisters(r.data);
  }

  /** GetContext: the AMD64 CONTEXT of a CPU with named-register access. */
  async getContext(options: CallOptions = {}): Promise<CpuContext> {
    const reply = await this.call({ layout: 'getContext', apiNumber: KdApi.GetContext }, options);
    checkStatus(reply, 'GetContext');
    // The reply's size says the architecture: a 32-bit target sends the 0x2CC-byte x86 CONTEXT (spec 2.6).
    const size = reply.length - HEADER;
    if (size >= KdLimits.Amd64ContextSize) return new CpuContext('amd64', reply.slice(HEADER, HEADER + KdLimits.Amd64ContextSize));
    if (size === KdLimits.X86ContextSize) return new CpuContext('x86', reply.slice(HEADER, HEADER + KdLimits.X86ContextSize));
    throw sessionError(KdSessionErrorCode.BadReply, `GetContext reply carries ${size} bytes, neither an AMD64 nor an x86 CONTEXT`, {
      api: 'GetContext',
      field: 'data',
    });
  }

  async setContext(context: CpuContext, options: CallOptions = {}): Promise<void> {
    const contextFlags = Number(context.get('contextflags'));
    const reply = await this.call({ layout: 'setContext', apiNumber: KdApi.SetContext, contextFlags, data: context.bytes }, options);
    checkStatus(reply, 'SetContext');
  }

  /** WriteBreakPoint: plants an int3; resolves with the target's handle. */
  async writeBreakpoint(address: bigint, options: CallOptions = {}): Promise<number> {
    const reply = await this.call({ layout: 'writeBreakPoint', apiNumber: KdApi.WriteBreakPoint, breakPointAddress: address }, options);
    checkStatus(reply, 'WriteBreakPoint');
    return replyAs(reply, 'writeBreakPoint').breakPointHandle;
  }

  /** RestoreBreakPoint: resolves with the NTSTATUS (Windows answers 0xC0000001 for an unknown handle). */
  async restoreBreakpoint(handle: number, options: CallOptions = {}): Promise<number> {
    const reply = await this.call({ layout: 'restoreBreakPoint', apiNumber: KdApi.RestoreBreakPoint, breakPointHandle: handle }, options);
    return u32(reply, RETURN_STATUS);
  }

  async readMsr(msr: number, options: CallOptions = {}): Promise<bigint> {
    const reply = await this.call({ layout: 'readWriteMsr', apiNumber: KdApi.ReadMachineSpecificRegister, msr }, options);
    checkStatus(reply, 'ReadMachineSpecificRegister');
    const { dataValueHigh, dataValueLow } = replyAs(reply, 'readWriteMsr');
    return (BigInt(dataValueHigh) << 32n) | BigInt(dataValueLow);
  }

  async writeMsr(msr: number, value: bigint, options: CallOptions = {}): Promise<void> {
    const reply = await this.call(
      {
        layout: 'readWriteMsr',
        apiNumber: KdApi.WriteMachineSpecificRegister,
        msr,
        dataValueLow: Number(value & 0xffffffffn),
        dataValueHigh: Number((value >> 32n) & 0xffffffffn),
      },
      options,
    );
    checkStatus(reply, 'WriteMachineSpecificRegister');
  }

  /** SearchMemory: the first address at or after `address`, within `length` bytes, where `pattern` starts; undefined if none. */
  async searchMemory(address: bigint, length: bigint, pattern: Uint8Array, options: CallOptions = {}): Promise<bigint | undefined> {
    if (pattern.length === 0 || pattern.length > KdLimits.MaxManipulateData) {
      throw sessionError(KdSessionErrorCode.BadArgument, `a search pattern is 1 … ${KdLimits.MaxManipulateData} bytes, not ${pattern.length}`, { field: 'pattern', value: pattern.length });
    }
    const reply = await this.call(
      { layout: 'searchMemory', apiNumber: KdApi.SearchMemory, searchAddress: address, searchLength: length, patternLength: pattern.length, data: pattern },
      options,
    );
    const found = replyAs(reply, 'searchMemory');
    if (found.returnStatus === NtStatus.NoMoreEntries) return undefined;
    if (!ntSuccess(found.returnStatus)) throw statusError('SearchMemory', found.returnStatus);
    return found.searchAddress;
  }

  /** FillMemory: repeats `pattern` over `length` bytes of virtual (default) or physical memory; resolves with the bytes filled. */
  async fillMemory(address: bigint, length: number, pattern: Uint8Array, options: CallOptions & { physical?: boolean } = {}): Promise<MemoryWriteResult> {
    if (pattern.length === 0 || pattern.length > KdLimits.MaxManipulateData) {
      throw sessionError(KdSessionErrorCode.BadArgument, `a fill pattern is 1 … ${KdLimits.MaxManipulateData} bytes, not ${pattern.length}`, { field: 'pattern', value: pattern.length });
    }
    const reply = await this.call(
      {
        layout: 'fillMemory',
        apiNumber: KdApi.FillMemory,
        address,
        length: checkLength(length),
        flags: options.physical === true ? FillMemoryFlag.Physical : FillMemoryFlag.Virtual,
        patternLength: pattern.length,
        data: pattern,
      },
      options,
    );
    const filled = replyAs(reply, 'fillMemory');
    return { bytesWritten: filled.length, status: filled.returnStatus };
  }

  /** QueryMemory: which address space an address belongs to and how it may be accessed. */
  async queryMemory(address: bigint, options: CallOptions = {}): Promise<MemoryQuery> {
    const reply = await this.call({ layout: 'queryMemory', apiNumber: KdApi.QueryMemory, address }, options);
    checkStatus(reply, 'QueryMemory');
    const { addressSpace: space, flags } = replyAs(reply, 'queryMemory');
    return {
      addressSpace: space === QueryMemorySpace.Kernel ? 'kernel' : space === QueryMemorySpace.Session ? 'session' : 'process',
      read: (flags & QueryMemoryFlag.Read) !== 0,
      write: (flags & QueryMemoryFlag.Write) !== 0,
      execute: (flags & QueryMemoryFlag.Execute) !== 0,
      fixed: (flags & QueryMemoryFlag.Fixed) !== 0,
    };
  }

  /** GetContextEx: `byteCount` bytes of the CONTEXT from `offset` (what WinDbg asks for first). */
  async getContextEx(offset: number, byteCount: number, options: CallOptions = {}): Promise<Uint8Array> {
    const reply = await this.call({ layout: 'contextEx', apiNumber: KdApi.GetContextEx, offset, byteCount }, options);
    checkStatus(reply, 'GetContextEx');
    const copied = Math.min(replyAs(reply, 'contextEx').bytesCopied, reply.length - HEADER);
    return reply.slice(HEADER, HEADER + copied);
  }

  /** SetContextEx: writes `bytes` into the CONTEXT at `offset`; resolves with the bytes copied. */
  async setContextEx(offset: number, bytes: Uint8Array, options: CallOptions = {}): Promise<number> {
    const reply = await this.call({ layout: 'contextEx', apiNumber: KdApi.SetContextEx, offset, byteCount: bytes.length, data: bytes }, options);
    checkStatus(reply, 'SetContextEx');
    return replyAs(reply, 'contextEx').bytesCopied;
  }

  /** ReadIoSpace: a 1-, 2- or 4-byte read of an I/O port. */
  async readIoSpace(port: bigint, size: 1 | 2 | 4, options: CallOptions = {}): Promise<number> {
    const reply = await this.call({ layout: 'readWriteIo', apiNumber: KdApi.ReadIoSpace, ioAddress: port, dataSize: size }, options);
    checkStatus(reply, 'ReadIoSpace');
    return replyAs(reply, 'readWriteIo').dataValue;
  }

  async writeIoSpace(port: bigint, size: 1 | 2 | 4, value: number, options: CallOptions = {}): Promise<void> {
    const reply = await this.call({ layout: 'readWriteIo', apiNumber: KdApi.WriteIoSpace, ioAddress: port, dataSize: size, dataValue: value >>> 0 }, options);
    checkStatus(reply, 'WriteIoSpace');
  }

  /** ReadIoSpaceExtended: I/O (addressSpace 1, default) or memory (0) space of a bus. */
  async readIoSpaceExtended(io: IoSpaceAddress, options: CallOptions = {}): Promise<number> {
    const reply = await this.call({ layout: 'readWriteIoExtended', apiNumber: KdApi.ReadIoSpaceExtended, ...ioExtended(io) }, options);
    checkStatus(reply, 'ReadIoSpaceExtended');
    return replyAs(reply, 'readWriteIoExtended').dataValue;
  }

  async writeIoSpaceExtended(io: IoSpaceAddress, value: number, options: CallOptions = {}): Promise<void> {
    const reply = await this.call({ layout: 'readWriteIoExtended', apiNumber: KdApi.WriteIoSpaceExtended, ...ioExtended(io), dataValue: value >>> 0 }, options);
    checkStatus(reply, 'WriteIoSpaceExtended');
  }

  /** GetBusData: bytes of a bus's configuration space (busDataType 4 = PCI; slot = device | function << 5). */
  async getBusData(bus: BusSlot, offset: number, length: number, options: CallOptions = {}): Promise<Uint8Array> {
    const reply = await this.call(
      { layout: 'getSetBusData', apiNumber: KdApi.GetBusData, busDataType: bus.busDataType ?? BusDataType.PCIConfiguration, busNumber: bus.busNumber, slotNumber: bus.slotNumber, offset, length: checkLength(length) },
      options,
    );
    checkStatus(reply, 'GetBusData');
    return reply.slice(HEADER, HEADER + Math.min(replyAs(reply, 'getSetBusData').length, reply.length - HEADER));
  }

  /** SetBusData: resolves with the bytes the bus took. */
  async setBusData(bus: BusSlot, offset: number, data: Uint8Array, options: CallOptions = {}): Promise<number> {
    const reply = await this.call(
      { layout: 'getSetBusData', apiNumber: KdApi.SetBusData, busDataType: bus.busDataType ?? BusDataType.PCIConfiguration, busNumber: bus.busNumber, slotNumber: bus.slotNumber, offset, length: data.length, data },
      options,
    );
    checkStatus(reply, 'SetBusData');
    return replyAs(reply, 'getSetBusData').length;
  }

  /** WriteBreakPointEx: plants several breakpoints in one request; resolves with their handles (0 where one failed). */
  async writeBreakpoints(addresses: readonly bigint[], options: CallOptions = {}): Promise<number[]> {
    const reply = await this.call(breakpointEx(KdApi.WriteBreakPointEx, addresses.map((address) => ({ address, handle: 0 }))), options);
    checkStatus(reply, 'WriteBreakPointEx');
    const entries = decodeBreakpointEntries(reply.subarray(HEADER), addresses.length);
    return addresses.map((_, i) => entries[i]?.handle ?? 0);
  }

  /** RestoreBreakPointEx: removes several breakpoints by handle; resolves with the NTSTATUS. */
  async restoreBreakpoints(handles: readonly number[], options: CallOptions = {}): Promise<number> {
    const reply = await this.call(breakpointEx(KdApi.RestoreBreakPointEx, handles.map((handle) => ({ address: 0n, handle }))), options);
    return u32(reply, RETURN_STATUS);
  }

  /** CheckLowMemory: resolves with the target's NTSTATUS (0 when memory above 4 GiB is addressed correctly). */
  async checkLowMemory(options: CallOptions = {}): Promise<number> {
    const reply = await this.call({ layout: 'none', apiNumber: KdApi.CheckLowMemory }, options);
    return u32(reply, RETURN_STATUS);
  }

  /**
   * Arms up to four hardware breakpoints or data watchpoints (execute, write, read/write; spec 2.3
   * and 2.5): writes their addresses into KSPECIAL_REGISTERS.KernelDr0–3 of every processor
   * (WriteControlSpace 2), and keeps the matching Dr7 for the next continue() or singleStep(),
   * which is when Windows loads the debug registers. A hit is reported as a single-step exception
   * (0x80000004) whose control report Dr6 has the slot's bit set. An empty list disarms all.
   * Resolves with the Dr7 that will be sent.
   */
  async setHardwareBreakpoints(breakpoints: readonly HardwareBreakpoint[], options: CallOptions = {}): Promise<bigint> {
    const dr7 = encodeDr7(breakpoints);
    const count = this.last?.numberProcessors ?? 1;
    for (let processor = 0; processor < count; processor++) {
      const r = await this.readControlSpace(processor, 2n, KdLimits.Amd64SpecialRegistersSize, options);
      if (r.bytesRead !== KdLimits.Amd64SpecialRegistersSize) throw statusError('ReadControlSpace', r.status || NtStatus.Unsuccessful);
      const special = r.data.slice();
      const view = new DataView(special.buffer);
      for (let slot = 0; slot < 4; slot++) {
        const bp = breakpoints.find((b) => b.slot === slot);
        view.setBigUint64(Amd64SpecialRegisterOffset.KernelDr0 + slot * 8, bp === undefined ? 0n : BigInt.asUintN(64, bp.address), true);
      }
      view.setBigUint64(Amd64SpecialRegisterOffset.KernelDr7, dr7, true);
      const w = await this.writeControlSpace(processor, 2n, special, options);
      if (w.bytesWritten !== special.length) throw statusError('WriteControlSpace', w.status || NtStatus.Unsuccessful);
    }
    this.hardwareDr7 = dr7;
    return dr7;
  }

  /** The Dr7 the next continue() sends unless told otherwise. */
  get armedDr7(): bigint {
    return this.hardwareDr7;
  }

  /**
   * Reboot: sent without waiting for a reply (there is none, spec 1.9). Resolves once the target has
   * the packet; the session is `running` until the new boot reports a stop (waitForStateChange()).
   */
  reboot(options: CallOptions = {}): Promise<void> {
    return this.sendNoReply(KdApi.Reboot, 'Reboot', options, () => {
      this.hardwareDr7 = DR7_RESERVED; // the new kernel starts with its debug registers clear
    });
  }

  /**
   * CauseBugCheck: sent without waiting for a reply; the target bugchecks and reports a breakpoint
   * inside KeBugCheckEx (waitForStateChange() resolves with it).
   */
  causeBugCheck(options: CallOptions = {}): Promise<void> {
    return this.sendNoReply(KdApi.CauseBugCheck, 'CauseBugCheck', options);
  }

  /** ClearAllInternalBreakpoints: no reply either; the target stays stopped. */
  clearAllInternalBreakpoints(options: CallOptions = {}): Promise<void> {
    return this.exclusive(async () => {
      this.assertStopped('ClearAllInternalBreakpoints');
      const payload = encodeManipulate({ layout: 'none', apiNumber: KdApi.ClearAllInternalBreakpoints, processor: options.processor ?? this.currentProcessor, processorLevel: this.processorLevel() });
      await this.sendWithTimeout(payload, 'ClearAllInternalBreakpoints', options.timeoutMs ?? this.timeoutMs);
    });
  }

  private sendNoReply(apiNumber: number, api: string, options: CallOptions, after?: () => void): Promise<void> {
    return this.exclusive(async () => {
      this.assertStopped(api);
      const payload = encodeManipulate({ layout: 'none', apiNumber, processor: options.processor ?? this.currentProcessor, processorLevel: this.processorLevel() });
      // Running from here on: the target's next report may arrive before send() resolves.
      this.stateValue = 'running';
      this.unclaimedStop = undefined;
      after?.();
      await this.sendWithTimeout(payload, api, options.timeoutMs ?? this.timeoutMs);
    });
  }

  /** Sends any manipulate request and resolves with the decoded reply (status not checked). */
  async request(message: ManipulateInit, options: CallOptions = {}): Promise<ManipulateState> {
    return decodeManipulate(await this.call(message, options));
  }

  /**
   * Continue (ContinueApi2 by default). There is no reply: resolves once the target has the packet;
   * the session is then `running` until the next state change (see waitForStateChange()).
   */
  continue(options: ContinueOptions = {}): Promise<void> {
    return this.resume(options, 0);
  }

  /** Single step (ContinueApi2 with TraceFlag 1); resolves with the single-step state change. */
  async singleStep(options: ContinueOptions = {}): Promise<WaitStateChange> {
    const stopped = this.nextStop(options.timeoutMs);
    stopped.catch(() => undefined);
    await this.resume(options, 1);
    return stopped;
  }

  /** Break-in: stops a running target; resolves with its state change (at once if already stopped). */
  async breakIn(options: { timeoutMs?: number } = {}): Promise<WaitStateChange> {
    this.assertOpen();
    if (this.stateValue === 'stopped' && this.last !== undefined) return this.last;
    const stopped = this.nextStop(options.timeoutMs);
    this.link.breakIn().catch((error: unknown) => this.failStopWaiters(this.wrapLinkError(error, 'breakIn')));
    return stopped;
  }

  /** SwitchProcessor: the selected CPU reports a state change of its own; resolves with it. */
  switchProcessor(processor: number, options: { timeoutMs?: number } = {}): Promise<WaitStateChange> {
    return this.exclusive(async () => {
      this.assertStopped('SwitchProcessor');
      const stopped = this.nextStop(options.timeoutMs);
      stopped.catch(() => undefined);
      const payload = encodeManipulate({ layout: 'none', apiNumber: KdApi.SwitchProcessor, processor, processorLevel: this.processorLevel() });
      this.stateValue = 'running';
      await this.sendWithTimeout(payload, 'SwitchProcessor', options.timeoutMs ?? this.timeoutMs);
      return stopped;
    });
  }

  /** Stops the session: pending calls fail with ERR_KD_SESSION_CLOSED (canceled). The link stays open; its owner closes it. */
  close(): Promise<void> {
    if (this.stateValue !== 'closed') {
      this.stateValue = 'closed';
      this.subscription.unsubscribe();
      const error = this.closedError();
      this.failPending(error);
      this.failStopWaiters(error);
      this.events.complete();
    }
    return Promise.resolve();
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  private onLinkEvent(event: LinkEvent): void {
    switch (event.kind) {
      case 'packet':
        this.onPacket(event.packet);
        break;
      case 'disconnect':
        this.events.next(event.error === undefined ? { kind: 'disconnect' } : { kind: 'disconnect', error: event.error });
        this.lose(event.error);
        break;
      case 'reset':
        this.events.next({ kind: 'reset' });
        break;
      case 'connect':
        this.events.next({ kind: 'connect' });
        break;
      case 'breakin':
        break; // only a debugger-facing link reports break-ins
    }
  }

  private onPacket(packet: KdPacket): void {
    try {
      switch (packet.type) {
        case KdPacketType.StateManipulate: {
          const p = this.pending;
          // Anything that is not the reply we wait for is a duplicate or stale reply: ignore it.
          if (p !== undefined && matches(p, packet.payload)) {
            if (u32(packet.payload, RETURN_STATUS) === NtStatus.PortDisconnected) {
              p.reject(sessionError(KdSessionErrorCode.TargetGone, 'the target is gone: the router answered for it', { api: kdApiName(u32(p.request, API_NUMBER)) ?? u32(p.request, API_NUMBER) }, { disconnected: true }));
            } else {
              p.resolve(packet.payload);
            }
          }
          break;
        }
        case KdPacketType.StateChange64:
          this.onStateChange(decodeWaitStateChange(packet.payload));
          break;
        case KdPacketType.DebugIo:
          this.onDebugIo(packet.payload);
          break;
        case KdPacketType.TraceIo:
          this.events.next({ kind: 'trace', data: decodeTraceIo(packet.payload).data.slice() });
          break;
        case KdPacketType.FileIo: {
          const request = decodeFileIo(packet.payload);
          this.events.next({ kind: 'file-io', request });
          // No .kdfiles mapping: answer STATUS_NO_SUCH_FILE with the header echoed, as WinDbg does.
          const answer = encodeFileIo({ ...request, status: NtStatus.NoSuchFile, data: new Uint8Array(0) });
          this.link.send({ type: KdPacketType.FileIo, payload: answer }).catch(() => undefined);
          break;
        }
        default:
          break;
      }
    } catch (error) {
      this.events.next({ kind: 'malformed', packet, error });
    }
  }

  private onStateChange(stateChange: WaitStateChange): void {
    this.last = stateChange;
    this.stateValue = 'stopped';
    this.events.next({ kind: 'state-change', stateChange });
    this.unclaimedStop = this.stopWaiters.size === 0 ? stateChange : undefined;
    for (const w of [...this.stopWaiters]) {
      this.stopWaiters.delete(w);
      w.resolve(stateChange);
    }
    // The target stopped anew (or re-sent its stop after a RESET) while a request waited: it has
    // dropped that request, so the request is sent again.
    this.pending?.reject(INTERRUPTED);
  }

  private onDebugIo(payload: Uint8Array): void {
    const io = decodeDebugIo(payload);
    if (io.layout === 'printString') {
      this.events.next({ kind: 'print', text: debugIoText(io), processor: io.processor });
    } else if (io.layout === 'getString') {
      const prompt = debugIoText(io);
      const answer = this.onPrompt(prompt);
      const text = ansiBytes(answer).subarray(0, Math.min(io.lengthOfStringRead, KdLimits.MaxPayload - KdLimits.DebugIoSize));
      this.events.next({ kind: 'prompt', prompt, answer });
      const reply = encodeDebugIo({ ...io, apiNumber: KdDebugIoApi.GetString, lengthOfStringRead: text.length, data: text });
      this.link.send({ type: KdPacketType.DebugIo, payload: reply }).catch(() => undefined);
    }
  }

  /** The target vanished (or the link ended): fail everything now, never hang. */
  private lose(error: VmkdError | undefined): void {
    if (this.stateValue === 'closed') return;
    this.stateValue = 'detached';
    const e = sessionError(KdSessionErrorCode.Disconnected, 'the target went away', {}, { cause: error, disconnected: true });
    this.failPending(e);
    this.failStopWaiters(e);
  }

  private failPending(error: Error): void {
    this.pending?.reject(error);
  }

  private failStopWaiters(error: Error): void {
    for (const w of [...this.stopWaiters]) {
      this.stopWaiters.delete(w);
      w.reject(error);
    }
  }

  private closedError(): VmkdError {
    return sessionError(KdSessionErrorCode.Closed, 'the debugger session is closed', {}, { canceled: true });
  }

  private assertOpen(): void {
    if (this.stateValue === 'closed') throw this.closedError();
  }

  private assertStopped(api: string): void {
    this.assertOpen();
    if (this.stateValue !== 'stopped') {
      throw sessionError(KdSessionErrorCode.NotStopped, `${api} needs a stopped target; the session is ${this.stateValue}`, { api, state: this.stateValue });
    }
  }

  private wrapLinkError(error: unknown, api: string): Error {
    if (isVmkdError(error) && error.disconnected) {
      return sessionError(KdSessionErrorCode.Disconnected, `${api}: the target went away`, { api }, { cause: error, disconnected: true });
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  private processorLevel(): number {
    return this.last?.processorLevel ?? 0;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private call(message: ManipulateInit, options: CallOptions): Promise<Uint8Array> {
    return this.exclusive(() => {
      const payload = encodeManipulate({ processor: options.processor ?? this.currentProcessor, processorLevel: this.processorLevel(), ...message });
      return this.exchange(payload, false, options.timeoutMs ?? this.timeoutMs);
    });
  }

  /** Sends without expecting a reply packet (Continue, SwitchProcessor); bounded by the timeout. */
  private async sendWithTimeout(payload: Uint8Array, api: string, timeoutMs: number): Promise<void> {
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => reject(sessionError(KdSessionErrorCode.Timeout, `${api}: the target did not take the packet within ${timeoutMs} ms`, { api, timeoutMs })), timeoutMs);
    });
    try {
      await Promise.race([this.link.send({ type: KdPacketType.StateManipulate, payload }).catch((e: unknown) => Promise.reject(this.wrapLinkError(e, api))), timeout]);
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  private resume(options: ContinueOptions, traceFlag: number): Promise<void> {
    return this.exclusive(async () => {
      const api = options.legacy === true ? 'Continue' : 'ContinueApi2';
      this.assertStopped(api);
      const common = { processor: options.processor ?? this.currentProcessor, processorLevel: this.processorLevel() };
      const status = options.status ?? NtStatus.DbgContinue;
      const payload =
        options.legacy === true
          ? encodeManipulate({ ...common, layout: 'continue', apiNumber: KdApi.Continue, continueStatus: status })
          : encodeManipulate({ ...common, layout: 'continue2', apiNumber: KdApi.ContinueApi2, continueStatus: status, traceFlag, dr7: options.dr7 ?? this.hardwareDr7 });
      // Running from here on: a state change may arrive before send() resolves.
      this.stateValue = 'running';
      this.unclaimedStop = undefined;
      await this.sendWithTimeout(payload, api, options.timeoutMs ?? this.timeoutMs);
    });
  }

  /**
   * One request/reply exchange. The reply must carry the request's ApiNumber (and, for memory
   * APIs, its address); others are stale duplicates and ignored. A stop reported meanwhile means
   * the target dropped the request: it is sent again, up to maxInterruptions times.
   */
  private async exchange(request: Uint8Array, matchAddress: boolean, timeoutMs: number): Promise<Uint8Array> {
    const apiNumber = u32(request, API_NUMBER);
    const api = kdApiName(apiNumber) ?? `0x${apiNumber.toString(16)}`;
    const byAddress = matchAddress || isMemoryTransferApi(apiNumber);
    for (let attempt = 0; ; attempt++) {
      this.assertStopped(api);
      let timer: unknown;
      const reply = new Promise<Uint8Array>((resolve, reject) => {
        this.pending = { request, matchAddress: byAddress, resolve, reject };
        timer = this.clock.setTimeout(
          () => reject(sessionError(KdSessionErrorCode.Timeout, `${api}: no reply within ${timeoutMs} ms`, { api, timeoutMs })),
          timeoutMs,
        );
      });
      this.link.send({ type: KdPacketType.StateManipulate, payload: request }).catch((error: unknown) => this.pending?.reject(this.wrapLinkError(error, api)));
      try {
        return await reply;
      } catch (error) {
        if (error !== INTERRUPTED) throw error;
        if (attempt >= this.maxInterruptions) {
          throw sessionError(KdSessionErrorCode.Interrupted, `${api}: the target kept reporting new stops instead of answering`, { api, attempts: attempt + 1 });
        }
      } finally {
        this.clock.clearTimeout(timer);
        this.pending = undefined;
      }
    }
  }

  private readInto(apiNumber: number, address: bigint, target: Uint8Array, options: MemoryOptions, caching: number): Promise<MemoryReadResult> {
    const chunk = options.chunkSize === undefined ? this.chunkSize : clampChunk(options.chunkSize);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return this.exclusive(async () => {
      const processor = options.processor ?? this.currentProcessor;
      const level = this.processorLevel();
      let done = 0;
      let status: number = NtStatus.Success;
      while (done < target.length) {
        const want = Math.min(chunk, target.length - done);
        const request = memoryRequest(apiNumber, level, processor, address + BigInt(done), want, caching, 0);
        const reply = await this.exchange(request, true, timeoutMs);
        const replyView = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
        status = replyView.getUint32(RETURN_STATUS, true);
        // Trust the smallest of ActualBytesRead, the data present and what was asked (spec 1.12).
        const got = Math.min(replyView.getUint32(READ.actualBytesRead.offset, true), reply.length - HEADER, want);
        target.set(reply.subarray(HEADER, HEADER + got), done);
        done += got;
        if (got === 0 || (got < want && !ntSuccess(status))) break;
      }
      const complete = done === target.length;
      return {
        data: target.subarray(0, done),
        bytesRead: done,
        status: complete ? NtStatus.Success : ntSuccess(status) ? NtStatus.Unsuccessful : status,
      };
    });
  }

  private writeFrom(apiNumber: number, address: bigint, data: Uint8Array, options: MemoryOptions, caching: number): Promise<MemoryWriteResult> {
    const chunk = options.chunkSize === undefined ? this.chunkSize : clampChunk(options.chunkSize);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return this.exclusive(async () => {
      const processor = options.processor ?? this.currentProcessor;
      const level = this.processorLevel();
      let done = 0;
      let status: number = NtStatus.Success;
      while (done < data.length) {
        const n = Math.min(chunk, data.length - done);
        const request = memoryRequest(apiNumber, level, processor, address + BigInt(done), n, caching, n);
        request.set(data.subarray(done, done + n), HEADER);
        const reply = await this.exchange(request, true, timeoutMs);
        status = u32(reply, RETURN_STATUS);
        const written = Math.min(u32(reply, WRITE.actualBytesWritten.offset), n);
        done += written;
        if (written < n) break;
      }
      const complete = done === data.length;
      return { bytesWritten: done, status: complete ? NtStatus.Success : ntSuccess(status) ? NtStatus.Unsuccessful : status };
    });
  }
}

/** Creates a DebuggerSession over a target-facing link (call attach() next). */
export function createDebuggerSession(link: PacketLink, options: DebuggerSessionOptions = {}): DebuggerSession {
  return new DebuggerSession(link, options);
}

function matches(p: Pending, reply: Uint8Array): boolean {
  if (reply.length < HEADER) return false;
  if (u32(reply, API_NUMBER) !== u32(p.request, API_NUMBER)) return false;
  if (!p.matchAddress) return true;
  const address = READ.targetBaseAddress.offset;
  for (let i = address; i < address + 8; i++) if (reply[i] !== p.request[i]) return false;
  return true;
}

/**
 * A reply read through the layout table. Its ApiNumber matched the request's (see matches()),
 * so the table gives the request's layout; anything else is a reply that does not fit.
 */
function replyAs<K extends ManipulateLayoutName>(reply: Uint8Array, layout: K): ManipulateOf<K> {
  const decoded = decodeManipulate(reply);
  if (decoded.layout !== layout) {
    throw sessionError(KdSessionErrorCode.BadReply, `a ${decoded.layout} reply where ${layout} was expected`, { api: kdApiName(decoded.apiNumber) ?? decoded.apiNumber, field: 'layout' });
  }
  return decoded as ManipulateOf<K>;
}

function u32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

/**
 * The 56-byte header of a memory request (Read/Write Virtual/Physical: the DBGKD_READ_MEMORY64 /
 * WRITE_MEMORY64 union), with room for `dataLength` bytes of write data after it. Built by hand
 * rather than through encodeManipulate because it runs once per 3,944-byte chunk.
 */
function memoryRequest(apiNumber: number, level: number, processor: number, address: bigint, count: number, caching: number, dataLength: number): Uint8Array {
  const request = new Uint8Array(HEADER + dataLength);
  const view = new DataView(request.buffer);
  view.setUint32(API_NUMBER, apiNumber, true);
  view.setUint16(MANIPULATE_HEADER.processorLevel.offset, level, true);
  view.setUint16(MANIPULATE_HEADER.processor.offset, processor, true);
  view.setBigUint64(READ.targetBaseAddress.offset, BigInt.asUintN(64, address), true);
  view.setUint32(READ.transferCount.offset, count, true);
  // ReadPhysicalMemory's caching flag travels where a reply's ActualBytesRead goes (spec 2.3).
  view.setUint32(READ.actualBytesRead.offset, caching, true);
  return request;
}


function ioExtended(io: IoSpaceAddress): { ioAddress: bigint; dataSize: number; addressSpace: number; interfaceType: number; busNumber: number } {
  return { ioAddress: io.address, dataSize: io.size, addressSpace: io.addressSpace ?? 1, interfaceType: io.interfaceType ?? 1, busNumber: io.busNumber ?? 0 };
}

function breakpointEx(apiNumber: number, entries: readonly { address: bigint; handle: number }[]): ManipulateInit {
  if (entries.length === 0 || entries.length > 32) {
    throw sessionError(KdSessionErrorCode.BadArgument, `a breakpoint batch holds 1 … 32 entries, not ${entries.length}`, { field: 'breakpoints', value: entries.length });
  }
  return { layout: 'breakPointEx', apiNumber, breakPointCount: entries.length, data: encodeBreakpointEntries(entries) };
}

function statusError(api: string, status: number): VmkdError {
  return sessionError(KdSessionErrorCode.Status, `${api} failed with status 0x${status.toString(16)}`, { api, status: `0x${status.toString(16)}` });
}

function checkStatus(reply: Uint8Array, api: string): void {
  const status = u32(reply, RETURN_STATUS);
  if (!ntSuccess(status)) throw statusError(api, status);
}

function clampChunk(size: number): number {
  if (!Number.isInteger(size) || size < 1) {
    throw sessionError(KdSessionErrorCode.BadArgument, `chunk size ${size} is not a positive integer`, { field: 'chunkSize', value: size });
  }
  return Math.min(size, KdLimits.MaxManipulateData);
}

function checkLength(length: number): number {
  if (!Number.isInteger(length) || length < 0 || length > 0x7fffffff) {
    throw sessionError(KdSessionErrorCode.BadArgument, `length ${length} is out of range`, { field: 'length', value: length });
  }
  return length;
}
