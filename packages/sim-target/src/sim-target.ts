import { KdLimits, VmkdError, decodeDr7 } from '@vmkd/kd-protocol';
import type { MemoryAccess, ResumeOptions, StopReason, TargetBackend, TargetEvent, TargetVersion } from '@vmkd/kd-protocol';
import { Subject } from 'rxjs';
import { Amd64ContextOffset, Amd64SpecialRegisterOffset } from '@vmkd/kd-protocol/kernel';
import { view } from './amd64-context.js';
import { buildProfile, buildNames, isBuildName, type BuildName, type BuildProfile } from './builds.js';
import { systemClock, type SimClock, type SimTimer } from './clock.js';
import { SimTargetErrorCode, badOption } from './errors.js';
import { buildKernel, type LoadedModule, type SimKernel, type SimProcess } from './kernel-builder.js';
import { KernelWriter } from './kernel-writer.js';
import { updateKuserTime } from './kuser-shared-data.js';
import { computeLayout, DEFAULT_KERN_BASE, GlobalOffset, type SimLayout } from './layout.js';
import { PAGE_SIZE } from './physical-memory.js';
import { createRamFile } from './ram-file.js';
import { ExceptionCode, VirtualCpu, type Trap, type Watch } from './virtual-cpu.js';
import { BusDataType, IoPorts, PciBus } from './virtual-devices.js';

export interface SimTargetOptions {
  /** The Windows build to impersonate. Default 'win7-sp1-x64' (the profile of KD spec 4.1 / A.3). */
  readonly build?: BuildName;
  /** Processors, 1 … 64. Default 1. */
  readonly cpus?: number;
  /** RAM in bytes: a multiple of 4096, 32 MiB … 256 GiB. Default 256 MiB. */
  readonly memorySize?: number;
  /** Clock ticks per second while running. Default 100. */
  readonly ticksPerSecond?: number;
  /** Instructions each CPU executes per tick. Default 10,000 (1 M instructions per second per CPU). */
  readonly instructionsPerTick?: number;
  /** A DbgPrint every this many milliseconds of running time; 0 disables. Default 1000. */
  readonly printIntervalMs?: number;
  /** File name of the KD transport on the module list. Default 'kdcom.dll'. */
  readonly transportModule?: string;
  /** nt's image base (1 MiB-aligned kernel address). Default 0xfffff80000000000. */
  readonly kernBase?: bigint;
  /** Time source for the virtual CPU. Default: the system clock. */
  readonly clock?: SimClock;
  /** Most pages that may hold their own bytes (written or allocated). Default 4096 + 65536 (16 + 256 MiB). */
  readonly maxMaterialisedPages?: number;
  /** Start running instead of stopped at the initial break-in. Default false. */
  readonly startRunning?: boolean;
  /** Expose RAM as this file (linear, byte pa at offset pa), kept current while stopped: see ram-file.ts. */
  readonly ramFile?: string;
  /**
   * Boot the way Windows does with `/debug` and a debugger attached: stop at LoadSymbols for nt,
   * hal and the KD transport, then at the initial breakpoint, then at LoadSymbols for each driver,
   * each stop waiting for the debugger's continue; then run. Default false (start at the initial
   * breakpoint with every module already loaded). A reboot always boots this way.
   */
  readonly bootWithDebugger?: boolean;
  /** Wall time at boot, for KUSER_SHARED_DATA.SystemTime. Default: the time of creation. */
  readonly bootTime?: Date;
}

export interface BreakpointInfo {
  readonly handle: number;
  readonly address: bigint;
}

export interface SimTargetStats {
  readonly instructions: number;
  readonly ticks: number;
  readonly stops: number;
  readonly prints: number;
  readonly materialisedPages: number;
}

/** The virtual kernel: a TargetBackend plus inspection helpers for tests, demos and benchmarks. */
export interface SimTarget extends TargetBackend {
  readonly build: BuildProfile;
  readonly layout: SimLayout;
  readonly memorySize: number;
  /** The module list as built (a debugger finds the same through PsLoadedModuleList). */
  readonly modules: readonly LoadedModule[];
  /** The active process list as built (a debugger finds the same through PsActiveProcessHead). */
  readonly processes: readonly SimProcess[];
  /** Why the target is stopped now; undefined while running. Starts as a break-in on CPU 0. */
  stopReason(): StopReason | undefined;
  /** A CPU's instruction pointer. */
  rip(cpu: number): bigint;
  /** The planted int3 breakpoints. */
  breakpoints(): readonly BreakpointInfo[];
  /** DbgPrint from the kernel: logged to KdPrintCircularBuffer and emitted as a print event. */
  print(text: string): void;
  stats(): SimTargetStats;
  /** Stops the clock and completes events$. Further resume() calls throw ERR_SIM_CLOSED. */
  close(): void;
}

const MIB = 1024 * 1024;
/** Dr6 with no condition recorded (its reserved bits read as ones). */
const DR6_CLEAR = 0xffff0ff0n;
/** MANUALLY_INITIATED_CRASH: the bugcheck code Windows uses for a crash the debugger asked for. */
const MANUALLY_INITIATED_CRASH = 0xe2;
/** Kernel-mode images report ProcessId −1 in LoadSymbols. */
const KERNEL_PROCESS_ID = 0xffffffffffffffffn;
const MAX_TRANSFER = 64 * MIB;
/** KdpBreakpointTable has 32 entries; handles are 1 … 32. */
const BREAKPOINT_SLOTS = 32;
/** Instructions a CPU runs before the next CPU gets its turn within a tick. */
const SLICE = 64;

function intOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badOption(name, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

function resolveOptions(options: SimTargetOptions) {
  const build = options.build ?? 'win7-sp1-x64';
  if (!isBuildName(build)) throw badOption('build', `must be one of ${buildNames.join(', ')}`, build);
  const memorySize = intOption('memorySize', options.memorySize, 256 * MIB, 32 * MIB, 256 * 1024 * MIB);
  if (memorySize % PAGE_SIZE !== 0) throw badOption('memorySize', 'must be a multiple of 4096', memorySize);
  const transportModule = options.transportModule ?? 'kdcom.dll';
  if (typeof transportModule !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(transportModule)) {
    throw badOption('transportModule', 'must be a file name of 1 to 64 characters [A-Za-z0-9_.-]', transportModule);
  }
  const kernBase = options.kernBase ?? DEFAULT_KERN_BASE;
  if (typeof kernBase !== 'bigint' || kernBase < 0xffff800000000000n || kernBase > 0xffffffffe0000000n || kernBase % 0x100000n !== 0n) {
    throw badOption('kernBase', 'must be a 1 MiB-aligned kernel address (0xffff800000000000 … 0xffffffffe0000000)', kernBase);
  }
  return {
    profile: buildProfile(build),
    cpus: intOption('cpus', options.cpus, 1, 1, 64),
    memorySize,
    ticksPerSecond: intOption('ticksPerSecond', options.ticksPerSecond, 100, 1, 10_000),
    instructionsPerTick: intOption('instructionsPerTick', options.instructionsPerTick, 10_000, 1, 100_000_000),
    printIntervalMs: intOption('printIntervalMs', options.printIntervalMs, 1000, 0, 86_400_000),
    transportModule,
    kernBase,
    clock: options.clock ?? systemClock,
    maxMaterialisedPages: intOption('maxMaterialisedPages', options.maxMaterialisedPages, 4096 + 65536, 4096, 2 ** 26),
    startRunning: options.startRunning ?? false,
    ramFile: options.ramFile,
    bootWithDebugger: options.bootWithDebugger ?? false,
    bootUnixMs: (options.bootTime ?? new Date()).getTime(),
  };
}

/** Creates the virtual Windows x64 kernel. Throws ERR_SIM_BAD_OPTION for an invalid option. */
export function createSimTarget(options: SimTargetOptions = {}): SimTarget {
  const o = resolveOptions(options);
  const profile = o.profile;
  const layout = computeLayout(profile, o.kernBase, o.memorySize);
  if (layout.kernBase + 0x10000000n > layout.physmapBase && layout.kernBase < layout.physmapBase + BigInt(o.memorySize)) {
    throw badOption('kernBase', 'overlaps the physmap window', o.kernBase);
  }
  const boot = () => {
    const built: SimKernel = buildKernel({
      profile,
      layout,
      memorySize: o.memorySize,
      cpus: o.cpus,
      transportModule: o.transportModule,
      maxMaterialisedPages: o.maxMaterialisedPages,
      bootUnixMs: o.bootUnixMs + bootOffsetMs,
    });
    const pci = new PciBus();
    return {
      kernel: built,
      space: built.kernelSpace,
      memory: built.memory,
      cpus: built.cpus.map((block) => new VirtualCpu(block, built.memory, built.kernelSpace)),
      pci,
      io: new IoPorts(pci),
      writer: new KernelWriter(built.kernelSpace),
    };
  };
  /** Wall-clock ms that passed in earlier boots (a reboot's SystemTime goes on from there). */
  let bootOffsetMs = 0;
  let machine = boot();
  let kernel = machine.kernel;
  let space = machine.space;
  let memory = machine.memory;
  let cpus = machine.cpus;
  let ramFile = o.ramFile === undefined ? undefined : createRamFile(memory, o.ramFile);
  /** Runs a debugger write, then brings the RAM file up to date (a host reader sees it at once, as with shared guest RAM). */
  const synced = <T>(result: T): T => {
    ramFile?.sync();
    return result;
  };
  const events$ = new Subject<TargetEvent>();
  const tickMs = 1000 / o.ticksPerSecond;
  const breakpointTable = new Map<number, { address: bigint; original: number }>();
  const msrs = cpus.map(() => new Map<number, bigint>());
  /** Stops still to come in this boot with a debugger (LoadSymbols, the initial breakpoint), in order. */
  let bootQueue: StopReason[] = [];

  let running = false;
  let closed = false;
  /** The execute breakpoint the last stop was, if any: the instruction runs once on resume (EFLAGS.RF). */
  let lastDebugTrap: { cpu: number; address: bigint } | undefined;
  let stop: StopReason | undefined;
  let timer: SimTimer | undefined;
  let breakInTimer: SimTimer | undefined;
  let runMs = 0;
  let nextPrintAt = o.printIntervalMs;
  const stats = { instructions: 0, ticks: 0, stops: 0, prints: 0 };

  const cpuAt = (cpu: number): VirtualCpu => {
    const c = cpus[cpu];
    if (c === undefined) {
      throw new VmkdError(SimTargetErrorCode.BadCpu, `no CPU ${cpu} (the target has ${cpus.length})`, { details: { cpu, processorCount: cpus.length } });
    }
    return c;
  };

  const cancelTimers = (): void => {
    timer?.cancel();
    timer = undefined;
    breakInTimer?.cancel();
    breakInTimer = undefined;
  };

  const stopWith = (reason: StopReason, dr6?: bigint): void => {
    cancelTimers();
    running = false;
    stop = reason;
    stats.stops++;
    ramFile?.sync();
    // A debug exception records its cause in Dr6, which the CONTEXT and KSPECIAL_REGISTERS show
    // (the control report's Dr6 is read from the CONTEXT).
    const cpu = cpus[reason.cpu];
    if (cpu !== undefined) {
      const value = dr6 === undefined ? DR6_CLEAR : DR6_CLEAR | dr6;
      view(cpu.block.context).setBigUint64(Amd64ContextOffset.Dr6, value, true);
      view(cpu.block.special).setBigUint64(Amd64SpecialRegisterOffset.KernelDr6, value, true);
    }
    lastDebugTrap = dr6 !== undefined && (dr6 & 0xfn) !== 0n && reason.kind === 'exception' ? { cpu: reason.cpu, address: reason.address } : undefined;
    events$.next({ kind: 'stop', reason });
  };

  const exception = (cpu: number, trap: Trap): StopReason => ({
    kind: 'exception',
    cpu,
    code: trap.code,
    address: trap.address,
    firstChance: true,
    parameters: trap.parameters,
  });

  /** nt!KdPollBreakIn saw the break-in byte: CPU 0 calls DbgBreakPointWithStatus and hits its int3. */
  const enterBreakIn = (): StopReason => {
    const cpu = cpus[0];
    cpu.push(cpu.rip);
    cpu.rip = layout.breakpointWithStatus;
    return exception(0, { code: ExceptionCode.Breakpoint, address: layout.breakpointWithStatus, parameters: [0n] });
  };

  const logPrint = (text: string): void => {
    // Windows keeps DbgPrint output in KdPrintCircularBuffer (what `!dbgprint` shows).
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    const writePointerVar = layout.globals + BigInt(GlobalOffset.KdPrintWritePointer);
    const rolloverVar = layout.globals + BigInt(GlobalOffset.KdPrintRolloverCount);
    const end = layout.printBuffer + BigInt(layout.printBufferSize);
    let pointer = space.readU64(writePointerVar) ?? layout.printBuffer;
    if (pointer < layout.printBuffer || pointer >= end) pointer = layout.printBuffer;
    let rest = bytes.subarray(Math.max(0, bytes.length - layout.printBufferSize));
    while (rest.length > 0) {
      const n = Math.min(rest.length, Number(end - pointer));
      space.write(pointer, rest.subarray(0, n));
      rest = rest.subarray(n);
      pointer += BigInt(n);
      if (pointer >= end) {
        pointer = layout.printBuffer;
        const count = space.read(rolloverVar, 4);
        const rollovers = count.length === 4 ? new DataView(count.buffer, count.byteOffset, 4).getUint32(0, true) : 0;
        const next = new Uint8Array(4);
        new DataView(next.buffer).setUint32(0, rollovers + 1, true);
        space.write(rolloverVar, next);
      }
    }
    const p = new Uint8Array(8);
    new DataView(p.buffer).setBigUint64(0, pointer, true);
    space.write(writePointerVar, p);
  };

  const print = (text: string): void => {
    if (closed) return;
    logPrint(text);
    stats.prints++;
    events$.next({ kind: 'print', text });
  };

  const tick = (): void => {
    timer = undefined;
    if (!running) return;
    stats.ticks++;
    // CPUs take turns in short slices, so whichever reaches a breakpoint first in virtual time hits it.
    for (let done = 0; done < o.instructionsPerTick; done += SLICE) {
      const budget = Math.min(SLICE, o.instructionsPerTick - done);
      for (let i = 0; i < cpus.length; i++) {
        const result = (cpus[i]).run(budget);
        stats.instructions += result.executed;
        if (result.trap !== undefined) {
          stopWith(exception(i, result.trap), result.trap.dr6);
          return;
        }
      }
    }
    runMs += tickMs;
    updateKuserTime(machine.writer, layout.kuserSharedData, o.bootUnixMs + bootOffsetMs, runMs);
    if (o.printIntervalMs > 0 && runMs >= nextPrintAt) {
      nextPrintAt += o.printIntervalMs * Math.max(1, Math.ceil((runMs - nextPrintAt + 1) / o.printIntervalMs));
      print(`vmkd-sim: ${profile.displayName} build ${profile.buildNumber} alive, tick ${stats.ticks}, ${cpus.length} CPU(s), rip ${(cpus[0]).rip.toString(16)}\n`);
      if (!running) return;
    }
    timer = o.clock.schedule(tickMs, tick);
  };

  const startRunning = (): void => {
    running = true;
    stop = undefined;
    timer = o.clock.schedule(tickMs, tick);
  };

  const resume = (options: ResumeOptions): void => {
    if (closed) throw new VmkdError(SimTargetErrorCode.Closed, 'the simulated target is closed');
    if (running) return;
    const previous = stop;
    armDebugRegisters(options.dr7);
    // EFLAGS.RF: the instruction an execute breakpoint stopped at runs once without faulting again.
    if (lastDebugTrap !== undefined) {
      const cpu = cpus[lastDebugTrap.cpu];
      if (cpu !== undefined && cpu.rip === lastDebugTrap.address) cpu.resumeFlag = true;
      lastDebugTrap = undefined;
    }
    const queued = bootQueue.shift();
    if (queued !== undefined) {
      // Booting with a debugger: the next stop of the boot sequence comes when the debugger continues.
      running = true;
      stop = undefined;
      timer = o.clock.schedule(0, () => {
        timer = undefined;
        if (queued.kind === 'exception') {
          stopWith(enterBreakIn());
        } else stopWith(queued);
      });
      return;
    }
    // Like KdpTrap: when the debugger leaves the PC on a hard-coded int3 (not one of its own
    // breakpoints), execution continues after it — that is how `g` leaves DbgBreakPointWithStatus.
    if (previous?.kind === 'exception' && previous.code === ExceptionCode.Breakpoint) {
      const cpu = cpus[previous.cpu];
      if (cpu !== undefined && cpu.rip === previous.address && !isPlanted(previous.address) && space.read(previous.address, 1)[0] === 0xcc) {
        cpu.rip = previous.address + 1n;
      }
    }
    if (options.singleStep) {
      const index = cpus[options.cpu] === undefined ? previous?.cpu ?? 0 : options.cpu;
      running = true;
      stop = undefined;
      timer = o.clock.schedule(0, () => {
        timer = undefined;
        const cpu = cpus[index];
        const result = cpu.run(1);
        stats.instructions += result.executed;
        // A completed single step sets Dr6.BS (SDM 17.3.1.4); a debug-register hit sets its B bit.
        const trap = result.trap ?? { code: ExceptionCode.SingleStep, address: cpu.rip, parameters: [], dr6: 0x4000n };
        stopWith(exception(index, trap), trap.dr6);
      });
      return;
    }
    startRunning();
  };

  /**
   * Loads the debug registers the way Windows does when it leaves the debugger: Dr7 from the
   * ContinueApi2 control set into every processor's KSPECIAL_REGISTERS.KernelDr7 (and the
   * CONTEXT), addresses from KernelDr0–3. The CPUs then watch the enabled slots.
   */
  const armDebugRegisters = (dr7: bigint | undefined): void => {
    for (const cpu of cpus) {
      const special = view(cpu.block.special);
      const context = view(cpu.block.context);
      if (dr7 !== undefined) special.setBigUint64(Amd64SpecialRegisterOffset.KernelDr7, BigInt.asUintN(64, dr7), true);
      const value = special.getBigUint64(Amd64SpecialRegisterOffset.KernelDr7, true);
      context.setBigUint64(Amd64ContextOffset.Dr7, value, true);
      const watches: Watch[] = [];
      for (const slot of decodeDr7(value)) {
        const address = special.getBigUint64(Amd64SpecialRegisterOffset.KernelDr0 + slot.slot * 8, true);
        context.setBigUint64(Amd64ContextOffset.Dr0 + slot.slot * 8, address, true);
        const rw = slot.kind === 'execute' ? 0 : slot.kind === 'write' ? 1 : slot.kind === 'io' ? 2 : 3;
        watches.push({ slot: slot.slot, address, rw, length: slot.length });
      }
      cpu.watches = watches;
    }
  };

  /** The LoadSymbols stop of one module, as a boot with a debugger reports it. */
  const loadSymbols = (index: number): StopReason => {
    const m = kernel.modules[index];
    return { kind: 'load-symbols', cpu: 0, unload: false, imageName: m.fullName, baseOfDll: m.base, sizeOfImage: m.size, checkSum: m.checkSum, processId: KERNEL_PROCESS_ID };
  };

  /**
   * The stops of a boot with a debugger (KD's phase 0 and 1, then the I/O manager loading drivers):
   * nt, hal and the transport, the initial breakpoint, then every driver.
   */
  const bootSequence = (): StopReason[] => {
    const initial: StopReason = { kind: 'exception', cpu: 0, code: ExceptionCode.Breakpoint, address: layout.breakpointWithStatus, firstChance: true };
    return [loadSymbols(0), loadSymbols(1), loadSymbols(2), initial, ...kernel.modules.slice(3).map((_, i) => loadSymbols(i + 3))];
  };

  const bugCheck = (cpuIndex: number): void => {
    if (closed) throw new VmkdError(SimTargetErrorCode.Closed, 'the simulated target is closed');
    cancelTimers();
    bootQueue = [];
    running = true;
    stop = undefined;
    timer = o.clock.schedule(0, () => {
      timer = undefined;
      const index = cpus[cpuIndex] === undefined ? 0 : cpuIndex;
      const cpu = cpus[index];
      const code = BigInt(MANUALLY_INITIATED_CRASH);
      // KeBugCheckEx(code, 0, 0, 0, 0): arguments in RCX, RDX, R8, R9; KiBugCheckData keeps them for `.bugcheck`.
      const c = view(cpu.block.context);
      c.setBigUint64(Amd64ContextOffset.Rcx, code, true);
      for (const reg of [Amd64ContextOffset.Rdx, Amd64ContextOffset.R8, Amd64ContextOffset.R9]) c.setBigUint64(reg, 0n, true);
      const data = layout.globals + BigInt(GlobalOffset.KiBugCheckData);
      machine.writer.u64(data, code);
      for (let i = 1; i <= 4; i++) machine.writer.u64(data + BigInt(i * 8), 0n);
      // Windows prints the banner before it breaks into the debugger (KeBugCheck2 → DbgPrint).
      print(`\n*** Fatal System Error: 0x${code.toString(16).padStart(8, '0')}\n                       (0x0000000000000000,0x0000000000000000,0x0000000000000000,0x0000000000000000)\n\n`);
      cpu.push(cpu.rip);
      const at = layout.keBugCheckEx + 0x10n;
      cpu.rip = at;
      stopWith(exception(index, { code: ExceptionCode.Breakpoint, address: at, parameters: [0n] }));
    });
  };

  const reboot = (): void => {
    if (closed) throw new VmkdError(SimTargetErrorCode.Closed, 'the simulated target is closed');
    cancelTimers();
    running = true;
    stop = undefined;
    bootOffsetMs += runMs;
    runMs = 0;
    nextPrintAt = o.printIntervalMs;
    breakpointTable.clear();
    lastDebugTrap = undefined;
    // A new kernel in fresh memory: whatever the debugger wrote is gone, as after a real reset.
    machine = boot();
    kernel = machine.kernel;
    space = machine.space;
    memory = machine.memory;
    cpus = machine.cpus;
    if (ramFile !== undefined && o.ramFile !== undefined) {
      ramFile.close();
      ramFile = createRamFile(memory, o.ramFile);
    }
    cpus.forEach((_, i) => {
      msrs[i]?.clear();
      msrDefaults(i).forEach((v, k) => msrs[i]?.set(k, v));
    });
    events$.next({ kind: 'reboot' });
    bootQueue = bootSequence();
    const first = bootQueue.shift();
    timer = o.clock.schedule(0, () => {
      timer = undefined;
      if (first !== undefined) stopWith(first);
    });
  };

  /** QueryMemory: mapped or not, and whether the address is in an image's code or read-only data. */
  const queryMemory = (address: bigint): MemoryAccess | undefined => {
    const a = BigInt.asUintN(64, address);
    if (space.translate(a) === undefined) return undefined;
    for (const m of kernel.modules) {
      if (a < m.base || a >= m.base + BigInt(m.size)) continue;
      const rva = Number(a - m.base);
      const section = m.sections.find((x) => rva >= x.rva && rva < x.rva + x.size);
      if (section === undefined) return { writable: false, executable: false }; // the headers
      return { writable: (section.characteristics & 0x80000000) !== 0, executable: (section.characteristics & 0x20000000) !== 0 };
    }
    return { writable: true, executable: false };
  };

  const isPlanted = (address: bigint): boolean => {
    for (const bp of breakpointTable.values()) if (bp.address === address) return true;
    return false;
  };

  const checkLength = (length: number): void => {
    if (!Number.isInteger(length) || length < 0 || length > MAX_TRANSFER) {
      throw new VmkdError(SimTargetErrorCode.LengthTooLarge, `a single transfer is 0 … ${MAX_TRANSFER} bytes, not ${length}`, {
        details: { length, max: MAX_TRANSFER },
      });
    }
  };

  const msrRegister: Partial<Record<number, number>> = {
    0xc0000101: Amd64SpecialRegisterOffset.MsrGsBase,
    0xc0000102: Amd64SpecialRegisterOffset.MsrGsSwap,
    0xc0000081: Amd64SpecialRegisterOffset.MsrStar,
    0xc0000082: Amd64SpecialRegisterOffset.MsrLStar,
    0xc0000083: Amd64SpecialRegisterOffset.MsrCStar,
    0xc0000084: Amd64SpecialRegisterOffset.MsrSyscallMask,
  };
  const msrDefaults = (cpu: number): Map<number, bigint> =>
    new Map<number, bigint>([
      [0xc0000080, 0xd01n], // EFER: SCE | LME | LMA | NXE
      [0x1b, cpu === 0 ? 0xfee00900n : 0xfee00800n], // APIC base (BSP flag on CPU 0)
    ]);
  cpus.forEach((_, i) => msrDefaults(i).forEach((v, k) => msrs[i]?.set(k, v)));

  const version: TargetVersion = {
    majorVersion: 0x0f,
    minorVersion: profile.buildNumber,
    protocolVersion: 6,
    kdSecondaryVersion: 2,
    flags: 0x7, // MP | DATA | PTR64
    machineType: 0x8664,
    maxPacketType: 12,
    maxStateChange: profile.maxStateChange,
    maxManipulate: profile.maxManipulate,
    simulation: 0,
    kernBase: layout.kernBase,
    psLoadedModuleList: layout.psLoadedModuleList,
    debuggerDataList: layout.debuggerDataList,
  };

  const target: SimTarget = {
    processorCount: cpus.length,
    events$: events$.asObservable(),
    build: profile,
    layout,
    memorySize: o.memorySize,
    get modules() {
      return kernel.modules;
    },
    get processes() {
      return kernel.processes;
    },
    get running() {
      return running;
    },

    version: () => ({ ...version }),
    processorLevel: () => 6,
    currentThread: (cpu) => cpuAt(cpu).block.thread,

    readVirtual(address, length) {
      checkLength(length);
      return space.read(BigInt.asUintN(64, address), length);
    },
    readVirtualInto(address, into) {
      checkLength(into.length);
      return space.readInto(BigInt.asUintN(64, address), into);
    },
    writeVirtual(address, data) {
      checkLength(data.length);
      return synced(space.write(BigInt.asUintN(64, address), data));
    },
    readPhysical(address, length) {
      checkLength(length);
      if (address < 0n || address >= BigInt(o.memorySize)) return new Uint8Array(0);
      return memory.read(Number(address), length);
    },
    readPhysicalInto(address, into) {
      checkLength(into.length);
      if (address < 0n || address >= BigInt(o.memorySize)) return 0;
      const pa = Number(address);
      return memory.readInto(pa, Math.min(into.length, o.memorySize - pa), into, 0);
    },
    writePhysical(address, data) {
      checkLength(data.length);
      if (address < 0n || address >= BigInt(o.memorySize)) return 0;
      return synced(memory.write(Number(address), data));
    },

    readControlSpace(cpu, offset, length) {
      const c = cpus[cpu];
      if (c === undefined || length <= 0) return new Uint8Array(0);
      const pointer = (value: bigint): Uint8Array => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, value, true);
        return b.slice(0, Math.min(length, 8));
      };
      switch (offset) {
        case 0n:
          return pointer(c.block.pcr);
        case 1n:
          return pointer(c.block.prcb);
        case 2n:
          return c.block.special.slice(0, Math.min(length, KdLimits.Amd64SpecialRegistersSize));
        case 3n:
          return pointer(c.block.thread);
        default:
          return new Uint8Array(0);
      }
    },
    writeControlSpace(cpu, offset, data) {
      const c = cpus[cpu];
      if (c === undefined || offset !== 2n) return 0;
      const n = Math.min(data.length, KdLimits.Amd64SpecialRegistersSize);
      c.block.special.set(data.subarray(0, n));
      return synced(n);
    },
    readIoSpace: (address, size) => (address > 0xffffn ? undefined : machine.io.read(Number(address), size)),
    writeIoSpace: (address, size, value) => address <= 0xffffn && machine.io.write(Number(address), size, value),
    readBusData(busDataType, bus, slot, offset, length) {
      if (busDataType !== BusDataType.PCIConfiguration || bus !== 0) return undefined;
      return machine.pci.read(bus, slot & 0x1f, (slot >> 5) & 7, offset, length);
    },
    writeBusData(busDataType, bus, slot, offset, data) {
      if (busDataType !== BusDataType.PCIConfiguration || bus !== 0) return undefined;
      return machine.pci.write(bus, slot & 0x1f, (slot >> 5) & 7, offset, data);
    },
    queryMemory,
    bugCheck,
    reboot,
    readMsr(cpu, msr) {
      const c = cpus[cpu];
      if (c === undefined) return undefined;
      const reg = msrRegister[msr];
      if (reg !== undefined) return view(c.block.special).getBigUint64(reg, true);
      if (msr === 0x10) return BigInt(Math.floor(o.clock.now() * 1e6)); // TSC at a nominal 1 GHz
      return msrs[cpu]?.get(msr);
    },
    writeMsr(cpu, msr, value) {
      const c = cpus[cpu];
      if (c === undefined) return false;
      const reg = msrRegister[msr];
      if (reg !== undefined) {
        view(c.block.special).setBigUint64(reg, BigInt.asUintN(64, value), true);
        return true;
      }
      const table = msrs[cpu];
      if (table === undefined || !table.has(msr)) return false;
      table.set(msr, BigInt.asUintN(64, value));
      return true;
    },

    getContext: (cpu) => cpuAt(cpu).block.context.slice(),
    setContext(cpu, context) {
      const c = cpuAt(cpu);
      if (context.length !== KdLimits.Amd64ContextSize) {
        throw new VmkdError(SimTargetErrorCode.BadContext, `an AMD64 CONTEXT is ${KdLimits.Amd64ContextSize} bytes, not ${context.length}`, {
          details: { length: context.length },
        });
      }
      c.block.context.set(context);
      ramFile?.sync();
    },

    writeBreakpoint(address) {
      const a = BigInt.asUintN(64, address);
      for (const [handle, bp] of breakpointTable) if (bp.address === a) return handle;
      let handle = 0;
      for (let h = 1; h <= BREAKPOINT_SLOTS; h++) {
        if (!breakpointTable.has(h)) {
          handle = h;
          break;
        }
      }
      if (handle === 0) return undefined;
      const original = space.read(a, 1)[0];
      if (original === undefined || space.write(a, Uint8Array.of(0xcc)) !== 1) return undefined;
      breakpointTable.set(handle, { address: a, original });
      return synced(handle);
    },
    restoreBreakpoint(handle) {
      const bp = breakpointTable.get(handle);
      if (bp === undefined) return false;
      breakpointTable.delete(handle);
      space.write(bp.address, Uint8Array.of(bp.original));
      return synced(true);
    },

    resume,
    breakIn() {
      if (!running || closed || breakInTimer !== undefined) return;
      // Windows polls for the break-in byte on its clock interrupt; honour it at the next chance.
      breakInTimer = o.clock.schedule(0, () => {
        breakInTimer = undefined;
        if (running) stopWith(enterBreakIn());
      });
    },

    stopReason: () => stop,
    rip: (cpu) => cpuAt(cpu).rip,
    breakpoints: () => [...breakpointTable].map(([handle, bp]) => ({ handle, address: bp.address })),
    print,
    stats: () => ({ ...stats, materialisedPages: memory.materialisedPages }),
    close() {
      if (closed) return;
      closed = true;
      running = false;
      cancelTimers();
      ramFile?.close();
      events$.complete();
    },
  };

  // The initial state: stopped at a break-in on CPU 0, as a kernel booted with a debugger and /break;
  // or, booting with a debugger, at the first LoadSymbols of the boot sequence.
  if (o.bootWithDebugger) {
    bootQueue = bootSequence();
    stop = bootQueue.shift();
  } else stop = enterBreakIn();
  ramFile?.sync();
  if (o.startRunning) resume({ singleStep: false, cpu: 0, continueStatus: 0x10002 });
  return target;
}
