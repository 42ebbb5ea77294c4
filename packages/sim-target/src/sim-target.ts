import { VmkdError } from '@vmkd/kd-protocol';
import type { StopReason, TargetBackend, TargetEvent, TargetVersion } from '@vmkd/kd-protocol';
import { Subject } from 'rxjs';
import { CONTEXT_SIZE, SPECIAL_REGISTERS_SIZE, SpecialRegisterOffset, view } from './amd64-context.js';
import { buildProfile, buildNames, isBuildName, type BuildName, type BuildProfile } from './builds.js';
import { systemClock, type SimClock, type SimTimer } from './clock.js';
import { SimTargetErrorCode, badOption } from './errors.js';
import { buildKernel, type LoadedModule, type SimKernel, type SimProcess } from './kernel-builder.js';
import { computeLayout, DEFAULT_KERN_BASE, GlobalOffset, type SimLayout } from './layout.js';
import { PAGE_SIZE } from './physical-memory.js';
import { createRamFile } from './ram-file.js';
import { ExceptionCode, VirtualCpu, type Trap } from './virtual-cpu.js';

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
  const kernel: SimKernel = buildKernel({
    profile,
    layout,
    memorySize: o.memorySize,
    cpus: o.cpus,
    transportModule: o.transportModule,
    maxMaterialisedPages: o.maxMaterialisedPages,
  });
  const space = kernel.kernelSpace;
  const memory = kernel.memory;
  const cpus = kernel.cpus.map((block) => new VirtualCpu(block, memory, space));
  const ramFile = o.ramFile === undefined ? undefined : createRamFile(memory, o.ramFile);
  /** Runs a debugger write, then brings the RAM file up to date (a host reader sees it at once, as with shared guest RAM). */
  const synced = <T>(result: T): T => {
    ramFile?.sync();
    return result;
  };
  const events$ = new Subject<TargetEvent>();
  const tickMs = 1000 / o.ticksPerSecond;
  const breakpointTable = new Map<number, { address: bigint; original: number }>();
  const msrs = cpus.map(() => new Map<number, bigint>());

  let running = false;
  let closed = false;
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

  const stopWith = (reason: StopReason): void => {
    cancelTimers();
    running = false;
    stop = reason;
    stats.stops++;
    ramFile?.sync();
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
          stopWith(exception(i, result.trap));
          return;
        }
      }
    }
    runMs += tickMs;
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

  const resume = (options: { readonly singleStep: boolean; readonly cpu: number; readonly continueStatus: number }): void => {
    if (closed) throw new VmkdError(SimTargetErrorCode.Closed, 'the simulated target is closed');
    if (running) return;
    const previous = stop;
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
        stopWith(exception(index, result.trap ?? { code: ExceptionCode.SingleStep, address: cpu.rip, parameters: [] }));
      });
      return;
    }
    startRunning();
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
    0xc0000101: SpecialRegisterOffset.MsrGsBase,
    0xc0000102: SpecialRegisterOffset.MsrGsSwap,
    0xc0000081: SpecialRegisterOffset.MsrStar,
    0xc0000082: SpecialRegisterOffset.MsrLStar,
    0xc0000083: SpecialRegisterOffset.MsrCStar,
    0xc0000084: SpecialRegisterOffset.MsrSyscallMask,
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
    modules: kernel.modules,
    processes: kernel.processes,
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
          return c.block.special.slice(0, Math.min(length, SPECIAL_REGISTERS_SIZE));
        case 3n:
          return pointer(c.block.thread);
        default:
          return new Uint8Array(0);
      }
    },
    writeControlSpace(cpu, offset, data) {
      const c = cpus[cpu];
      if (c === undefined || offset !== 2n) return 0;
      const n = Math.min(data.length, SPECIAL_REGISTERS_SIZE);
      c.block.special.set(data.subarray(0, n));
      return synced(n);
    },
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
      if (context.length !== CONTEXT_SIZE) {
        throw new VmkdError(SimTargetErrorCode.BadContext, `an AMD64 CONTEXT is ${CONTEXT_SIZE} bytes, not ${context.length}`, {
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

  // The initial state: stopped at a break-in on CPU 0, as a kernel booted with a debugger and /break.
  stop = enterBreakIn();
  ramFile?.sync();
  if (o.startRunning) resume({ singleStep: false, cpu: 0, continueStatus: 0x10002 });
  return target;
}
