import type { Observable } from 'rxjs';

/**
 * The kernel behind a `TargetSession`: what a Windows kernel's KD stub consults when it answers a
 * debugger. `@vmkd/sim-target` is the embedded implementation; a VMM-side stub answering from real
 * guest state would be another.
 *
 * Calls are synchronous and cheap; the session owns all protocol work (building state changes,
 * control reports, replies, statuses). Addresses are bigint; sizes are numbers.
 */

/** The fields of DBGKD_GET_VERSION64 the backend decides (KD spec 2.4). */
export interface TargetVersion {
  majorVersion: number; // 0x0F for a free build
  minorVersion: number; // the build number, e.g. 7601 or 19041
  protocolVersion: number; // 6
  kdSecondaryVersion: number; // 2 on AMD64
  flags: number; // DBGKD_VERS_FLAG_* (MP | DATA | PTR64 = 0x7)
  machineType: number; // 0x8664 for AMD64
  maxPacketType: number; // 12
  maxStateChange: number; // 3
  maxManipulate: number; // highest manipulate API number + 1 - 0x3130 (e.g. 0x31 for Windows 7 era, 0x33+ later)
  simulation: number; // 0 = not simulated
  kernBase: bigint;
  psLoadedModuleList: bigint;
  debuggerDataList: bigint;
}

/** Why the target stopped; the session turns this into DBGKD_ANY_WAIT_STATE_CHANGE. */
export type StopReason =
  | {
      readonly kind: 'exception';
      readonly cpu: number;
      /** e.g. 0x80000003 breakpoint (also used for break-in), 0x80000004 single step. */
      readonly code: number;
      readonly address: bigint;
      readonly firstChance: boolean;
      readonly parameters?: readonly bigint[];
    }
  | {
      readonly kind: 'load-symbols';
      readonly cpu: number;
      readonly unload: boolean;
      readonly imageName: string;
      readonly baseOfDll: bigint;
      readonly sizeOfImage: number;
      readonly checkSum: number;
      readonly processId: bigint;
    };

export type TargetEvent =
  /** The target stopped (breakpoint reached, single step done, break-in honoured, module load). */
  | { readonly kind: 'stop'; readonly reason: StopReason }
  /** DbgPrint output while running (or while stopped, as Windows allows). */
  | { readonly kind: 'print'; readonly text: string }
  /**
   * The kernel restarted (after reboot()): everything the debugger knew (breakpoint handles, the
   * stop) is gone; the new boot's stops follow as `stop` events.
   */
  | { readonly kind: 'reboot' };

/** What QueryMemory reports about a mapped virtual address. */
export interface MemoryAccess {
  readonly writable: boolean;
  readonly executable: boolean;
}

export interface ResumeOptions {
  readonly singleStep: boolean;
  readonly cpu: number;
  readonly continueStatus: number;
  /**
   * ContinueApi2's Dr7 (spec 2.3): the debugger's hardware breakpoint enables, applied to every
   * processor with KSPECIAL_REGISTERS.KernelDr0–3 as addresses (what Windows loads into the debug
   * registers on the way out of the debugger). Absent for the legacy Continue: Dr7 stays as it was.
   */
  readonly dr7?: bigint;
}

export interface TargetBackend {
  readonly processorCount: number;
  /** Hot; emits stop and print events. Subscribe before calling resume(). */
  readonly events$: Observable<TargetEvent>;

  version(): TargetVersion;
  /** Processor level for the state change header (6 for AMD64 family 6). */
  processorLevel(): number;
  /** The current thread (KTHREAD address) on a CPU, for state changes. */
  currentThread(cpu: number): bigint;

  /** Returns the readable prefix: a full read, a shorter one, or an empty array for an unmapped address. */
  readVirtual(address: bigint, length: number, cpu: number): Uint8Array;
  /** Returns the number of bytes written (the writable prefix). */
  writeVirtual(address: bigint, data: Uint8Array, cpu: number): number;
  readPhysical(address: bigint, length: number): Uint8Array;
  /**
   * Optional fast paths for the two reads a debugger makes most: fill `into` from the start (at
   * most `into.length` bytes) and return how many bytes were readable (the prefix, as readVirtual /
   * readPhysical would return). When present, a session reads straight into the reply it sends
   * instead of copying a fresh array; backends without them keep working unchanged.
   */
  readVirtualInto?(address: bigint, into: Uint8Array, cpu: number): number;
  readPhysicalInto?(address: bigint, into: Uint8Array): number;
  writePhysical(address: bigint, data: Uint8Array): number;
  /** AMD64 control space: offsets 0 (KPCR), 1 (KPRCB), 2 (KSPECIAL_REGISTERS, 0xE0 bytes), 3 (KTHREAD). */
  readControlSpace(cpu: number, offset: bigint, length: number): Uint8Array;
  writeControlSpace(cpu: number, offset: bigint, data: Uint8Array): number;
  /** Port I/O (ReadIoSpace, and the Extended form with AddressSpace 1): size 1, 2 or 4; undefined for a port nothing decodes. */
  readIoSpace?(address: bigint, size: number): number | undefined;
  /** Port I/O write; false for a port nothing decodes. */
  writeIoSpace?(address: bigint, size: number, value: number): boolean;
  /**
   * Bus configuration space (GetBusData): `busDataType` 4 = PCI, `slot` = device | function << 5
   * (PCI_SLOT_NUMBER). Returns the bytes read, undefined when the bus type or bus is not there.
   */
  readBusData?(busDataType: number, bus: number, slot: number, offset: number, length: number): Uint8Array | undefined;
  /** SetBusData: returns the bytes the bus took, undefined when the bus type or bus is not there. */
  writeBusData?(busDataType: number, bus: number, slot: number, offset: number, data: Uint8Array): number | undefined;
  /** QueryMemory: how a virtual address may be accessed; undefined when it is not mapped. */
  queryMemory?(address: bigint, cpu: number): MemoryAccess | undefined;
  /** Why the backend is stopped right now (a session that starts on a stopped backend announces this). */
  stopReason?(): StopReason | undefined;
  /**
   * CauseBugCheck: the kernel bugchecks the way Windows does with a debugger attached (a DbgPrint
   * banner, then a breakpoint inside KeBugCheckEx), reporting both as events after this returns.
   */
  bugCheck?(cpu: number): void;
  /** Reboot: the kernel restarts; emits `reboot`, then the new boot's events. */
  reboot?(): void;
  readMsr?(cpu: number, msr: number): bigint | undefined;
  writeMsr?(cpu: number, msr: number, value: bigint): boolean;

  /** The full 1232-byte AMD64 CONTEXT of a CPU (raw bytes, KD spec 2.6). */
  getContext(cpu: number): Uint8Array;
  setContext(cpu: number, context: Uint8Array): void;

  /** Plants an int3 at the address (really patching memory); returns a handle, or undefined if unwritable. */
  writeBreakpoint(address: bigint): number | undefined;
  /** Removes a breakpoint by handle, restoring the original byte; false for an unknown handle. */
  restoreBreakpoint(handle: number): boolean;

  /** Leaves the stopped state. With `singleStep`, the next stop is a single-step exception on `cpu`. */
  resume(options: ResumeOptions): void;
  /** Asks a running target to stop; it emits a `stop` event (break-in exception) soon after. */
  breakIn(): void;
  /** True between resume() and the next stop. */
  readonly running: boolean;
}
