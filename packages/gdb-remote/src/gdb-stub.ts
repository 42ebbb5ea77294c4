import { CpuContext, KdSessionErrorCode, isVmkdError, type WaitStateChange } from '@vmkd/kd-protocol';
import type { Subscription } from 'rxjs';
import { librariesXml } from './commands/libraries-xml.js';
import { runMonitor } from './commands/monitor.js';
import { formatStopReply, processorOfThread, threadOfProcessor, xferSlice } from './commands/stop-reply.js';
import type { GdbCommand, VContAction } from './commands/gdb-command.js';
import { HARDWARE_REFUSAL_REPLY, debugRegistersOf, hardwareHit, isReadHit, placeHardware, removeHardware, type HardwareHit, type HardwareSlot, type HardwareType } from './kernel/hardware-slots.js';
import { walkModules } from './kernel/kernel-walk.js';
import type { KernelState } from './kernel/kernel-state.js';
import { REGISTERS } from './registers/register-map.js';
import { allRegistersHex, registerHex, splitAllRegisters, writeRegister, type RegisterPart } from './registers/register-file.js';
import { TARGET_XML } from './registers/target-xml.js';
import { lldbRawReply, type BinaryReadDialect } from './rsp/binary-reply.js';
import { toHex } from './rsp/hex.js';
import { FramePool } from './rsp/frame-pool.js';
import { encodeBinaryPacket, encodeHexPacket } from './rsp/rsp-encoder.js';

/** What one command produces: packets to send in order (O packets first), and whether the client is done. */
/** A reply already framed (the memory replies, built without strings). */
export interface FramedPacket {
  readonly frame: Uint8Array;
  /** Called once the frame is written and can no longer be resent: its buffer may be reused. */
  readonly release?: () => void;
}

export interface StubReply {
  readonly packets: readonly (string | Uint8Array | FramedPacket)[];
  /** `D` and `k`: close the connection once the packets are out. */
  readonly close?: boolean;
  /** QStartNoAckMode: acks stop after this reply's `+`. */
  readonly noAck?: boolean;
}

export interface GdbStubOptions {
  /** The largest packet body we accept and advertise (qSupported PacketSize). */
  readonly packetSize: number;
  readonly packageVersion: string;
  /** Sends an `O` packet while the kernel runs (DbgPrint text). */
  readonly sendOutput: (packet: string) => void;
}

/** Errors as RSP spells them: `E` + two hex digits (gdb shows none of them; they only mean "failed"). */
const E_BAD_PACKET = 'E01';
const E_FAULT = 'E0e';
const E_TARGET = 'E05';
/** How long one wait for a stop lasts before it is simply renewed (a kernel may run for days). */
const RUN_WAIT_MS = 3_600_000;
/** gdb's `x` reply starts with `b` (rsp/binary-reply.ts). */
const BINARY_PREFIX = 0x62;

const one = (packet: string | Uint8Array | FramedPacket): StubReply => ({ packets: [packet] });

/**
 * One RSP client's view of the kernel: executes parsed commands against the DebuggerSession and
 * answers in RSP. The shell (rsp-connection.ts) calls `execute` one command at a time, and
 * `interrupt` whenever 0x03 arrives.
 */
export class GdbStub {
  /** Hg: the CPU registers and memory are read on; undefined = the CPU that reported the stop. */
  private generalProcessor: number | undefined;
  /** Hc: the CPU a step applies to. */
  private continueProcessor: number | undefined;
  /** The kernel was resumed by a `c` and has not reported its stop yet. */
  private running = false;
  /** 0x03 arrived during the current command: it answers with SIGINT once the kernel runs. */
  private interruptRequested = false;
  private gone = false;
  /** Breakpoints this client planted: removed if it vanishes without removing them. */
  private readonly planted = new Set<bigint>();
  /** Hardware breakpoints and watchpoints this client armed (the same rule). */
  private readonly plantedHardware = new Set<HardwareSlot>();
  private librariesDocument: Uint8Array | undefined;
  /** The client said `binary-upload+` in qSupported: it knows gdb's `x` reply. */
  private clientKnowsBinaryUpload = false;
  /** How `x` is answered: gdb's way until a client that did not say so probes with `x0,0`. */
  private binaryDialect: BinaryReadDialect = 'gdb';
  /** Buffers for memory replies: the largest is an `x` of a packet's worth, every byte escaped. */
  private readonly frames: FramePool;

  constructor(
    private readonly kernel: KernelState,
    private readonly options: GdbStubOptions,
  ) {
    this.frames = new FramePool(2 * options.packetSize + 8);
  }

  private get session() {
    return this.kernel.session;
  }

  private get stop(): WaitStateChange | undefined {
    return this.session.lastStateChange;
  }

  private currentProcessor(): number {
    return this.session.currentProcessor;
  }

  private processorCount(): number {
    return Math.max(1, this.stop?.numberProcessors ?? 1);
  }

  private generalCpu(): number {
    return this.generalProcessor ?? this.currentProcessor();
  }

  /** Makes sure the kernel is stopped for a new client: attach the first time, break in if it runs. */
  async ensureStopped(): Promise<void> {
    if (this.session.state === 'detached') await this.session.attach();
    else if (this.session.state === 'running') await this.session.breakIn({ timeoutMs: 30_000 });
  }

  async execute(command: GdbCommand): Promise<StubReply> {
    try {
      return await this.run(command);
    } catch (error) {
      // A KD request that failed is the target's answer ("E"), not a reason to drop the client.
      if (isVmkdError(error) && error.code === KdSessionErrorCode.Closed) throw error;
      return one(E_TARGET);
    } finally {
      // An interrupt belongs to the command it arrived during; the next one starts without it.
      this.interruptRequested = false;
    }
  }

  private async run(command: GdbCommand): Promise<StubReply> {
    switch (command.kind) {
      case 'supported':
        this.clientKnowsBinaryUpload = command.features.includes('binary-upload+');
        return one(
          `PacketSize=${this.options.packetSize.toString(16)};QStartNoAckMode+;qXfer:features:read+;qXfer:libraries:read+;swbreak+;hwbreak+;vContSupported+;binary-upload+`,
        );
      case 'start-no-ack':
        return { packets: ['OK'], noAck: true };
      case 'halt-reason':
        await this.ensureStopped();
        return one(this.stopReply(this.stop!, false, this.hardwareHitOf(this.stop!)));
      case 'attached':
        return one('1');
      case 'current-thread':
        return one(`QC${threadOfProcessor(this.currentProcessor()).toString(16)}`);
      case 'thread-list-first':
        return one(`m${Array.from({ length: this.processorCount() }, (_, i) => threadOfProcessor(i).toString(16)).join(',')}`);
      case 'thread-list-next':
        return one('l');
      case 'thread-extra-info': {
        const cpu = command.thread > 0 ? processorOfThread(command.thread) : this.currentProcessor();
        const stop = this.stop;
        const text = stop !== undefined && stop.processor === cpu ? `CPU ${cpu} (KTHREAD 0x${stop.thread.toString(16)})` : `CPU ${cpu}`;
        return one(toHex(Buffer.from(text, 'latin1')));
      }
      case 'thread-alive':
        return one(this.validThread(command.thread) ? 'OK' : E_BAD_PACKET);
      case 'set-thread': {
        if (command.thread > 0 && !this.validThread(command.thread)) return one(E_BAD_PACKET);
        const cpu = command.thread > 0 ? processorOfThread(command.thread) : undefined;
        if (command.op === 'g') this.generalProcessor = cpu;
        else this.continueProcessor = cpu;
        return one('OK');
      }
      case 'offsets':
        // Kernel addresses are absolute: nothing is relocated against a symbol file.
        return one('Text=0;Data=0;Bss=0');
      case 'symbol':
        return one('OK');
      case 'xfer-read':
        return this.xfer(command.object, command.annex, command.offset, command.length);
      case 'read-registers': {
        const file = await this.kernel.registers(this.generalCpu());
        return one(allRegistersHex(file));
      }
      case 'read-register': {
        if (command.regnum >= REGISTERS.length) return one(E_BAD_PACKET);
        return one(registerHex(await this.kernel.registers(this.generalCpu()), command.regnum));
      }
      case 'write-register':
        if (command.regnum >= REGISTERS.length) return one(E_BAD_PACKET);
        return one(await this.writeRegisters([[command.regnum, command.data]]));
      case 'write-registers': {
        const parts = splitAllRegisters(command.data);
        if (parts === undefined) return one(E_BAD_PACKET);
        return one(await this.writeRegisters(parts.map((p, i) => [i, p])));
      }
      case 'read-memory': {
        if (command.length === 0) return one('');
        // A longer request gets what fits in one packet: both gdb and lldb take a short reply as a
        // partial read and ask for the rest (gdb manual, `m`: "fewer bytes than requested").
        const data = await this.readMemory(command.address, Math.min(command.length, Math.floor(this.options.packetSize / 2)));
        // gdb wants the readable prefix; an error only when nothing at all could be read.
        return one(data === undefined ? E_FAULT : this.pooled((buffer) => encodeHexPacket(data, buffer)));
      }
      case 'read-memory-binary':
        return this.readMemoryBinary(command.address, command.length);
      case 'write-memory': {
        if (command.data.length === 0) return one('OK');
        const r = await this.session.writeVirtual(command.address, command.data, { processor: this.generalCpu() });
        this.kernel.invalidate();
        return one(r.bytesWritten === command.data.length ? 'OK' : E_FAULT);
      }
      case 'insert-breakpoint':
      case 'remove-breakpoint':
        return command.type === 0
          ? this.breakpoint(command.kind === 'insert-breakpoint', command.address)
          : this.hardwareBreakpoint(command.kind === 'insert-breakpoint', command.type as HardwareType, command.address, command.size);
      case 'continue':
        return this.resume([{ action: 'c', thread: undefined }], command.address);
      case 'step':
        return this.resume([{ action: 's', thread: this.continueProcessor === undefined ? undefined : threadOfProcessor(this.continueProcessor) }], command.address);
      case 'vcont-query':
        return one('vCont;c;C;s;S;t');
      case 'vcont':
        return this.resume(command.actions, undefined);
      case 'monitor':
        return this.monitor(command.command);
      case 'detach':
        await this.removeOwnBreakpoints();
        if (this.session.state === 'stopped') {
          this.kernel.invalidate();
          await this.session.continue();
        }
        return { packets: ['OK'], close: true };
      case 'kill':
        // A kernel is not killed: the client goes, the kernel stays stopped for the next one.
        await this.removeOwnBreakpoints();
        return { packets: [], close: true };
      case 'watchpoint-info':
        // lldb's query (lldb's gdb-remote extensions): the four debug registers.
        return one('num:4;');
      case 'host-info':
      case 'process-info':
        return one('');
      case 'bad':
        return one(E_BAD_PACKET);
      case 'unsupported':
        return one('');
    }
  }

  /** The readable prefix of a read (breakpoints shadowed), or undefined when nothing is readable. */
  private async readMemory(address: bigint, length: number): Promise<Uint8Array | undefined> {
    const r = await this.kernel.readAhead.read(address, length, this.generalCpu());
    if (r.bytesRead === 0) return undefined;
    const data = r.data.subarray(0, r.bytesRead);
    this.kernel.shadowBreakpoints(address, data);
    return data;
  }

  /** `x` in the client's dialect (rsp/binary-reply.ts). */
  private async readMemoryBinary(address: bigint, length: number): Promise<StubReply> {
    if (length === 0) {
      // lldb's probe (lldbgdbremote.md, "x"): `OK` means "x is here, answered lldb's way".
      if (!this.clientKnowsBinaryUpload) {
        this.binaryDialect = 'lldb';
        return one('OK');
      }
      return one({ frame: encodeBinaryPacket(BINARY_PREFIX, new Uint8Array(0)) });
    }
    // The reply is `b` + the bytes, escaped: a packet's worth of data (clients grow their buffer
    // for the escapes; they take a shorter reply as a partial read).
    const data = await this.readMemory(address, Math.min(length, this.options.packetSize - 1));
    if (data === undefined) return one(E_FAULT);
    // gdb expands run-length markers in every packet (the zero pages of a dump cost a few bytes);
    // lldb's raw reply is classified byte by byte (binary-reply.ts), so it goes as read.
    if (this.binaryDialect === 'gdb') return one(this.pooled((buffer) => encodeBinaryPacket(BINARY_PREFIX, data, buffer, { runLength: true })));
    const raw = lldbRawReply(data, length);
    return one(raw === undefined ? E_FAULT : this.pooled((buffer) => encodeBinaryPacket(undefined, raw, buffer)));
  }

  /** A memory reply framed into a pooled buffer, which returns to the pool once written. */
  private pooled(encode: (buffer: ArrayBuffer) => Uint8Array): FramedPacket {
    const buffer = this.frames.take();
    return { frame: encode(buffer), release: () => this.frames.give(buffer) };
  }

  private validThread(thread: number): boolean {
    return thread === -1 || thread === 0 || (thread >= 1 && thread <= this.processorCount());
  }

  private stopReply(stop: WaitStateChange, interrupted: boolean, hit: HardwareHit | undefined): string {
    const swbreak = stop.kind === 'exception' && stop.exceptionCode === 0x80000003 && this.kernel.breakpoints.has(stop.programCounter);
    if (hit === undefined) return formatStopReply(stop, { interrupted, swbreak });
    if (hit.kind === 'hwbreak') return formatStopReply(stop, { interrupted, swbreak: false, hwbreak: true });
    return formatStopReply(stop, { interrupted, swbreak: false, watch: { kind: hit.kind, address: hit.slot.address } });
  }

  /** A debug register hit arrives as STATUS_SINGLE_STEP with the slot's bit in Dr6 (KD spec 2.5). */
  private hardwareHitOf(stop: WaitStateChange): HardwareHit | undefined {
    if (stop.kind !== 'exception' || stop.exceptionCode !== 0x80000004 || this.kernel.hardware.length === 0) return undefined;
    return hardwareHit(this.kernel.hardware, stop.dr6);
  }

  private async xfer(object: string, annex: string, offset: number, length: number): Promise<StubReply> {
    if (object === 'features') {
      if (annex !== 'target.xml') return one('E00');
      return one(xferSlice(Buffer.from(TARGET_XML, 'utf8'), offset, length));
    }
    if (object === 'libraries') {
      // Walk the module list at the start of a transfer; later pieces come from the same snapshot.
      if (offset === 0 || this.librariesDocument === undefined) {
        const modules = await walkModules(this.session, await this.kernel.version());
        this.librariesDocument = Buffer.from(librariesXml(modules), 'utf8');
      }
      return one(xferSlice(this.librariesDocument, offset, length));
    }
    return one('');
  }

  private async writeRegisters(writes: readonly (readonly [number, Uint8Array])[]): Promise<string> {
    const cpu = this.generalCpu();
    const file = await this.kernel.registers(cpu);
    // Patch a copy, so a rejected write leaves the cached registers as the target has them.
    const copy = { context: new CpuContext('amd64', file.context.bytes.slice()), special: file.special?.slice(), fsBase: file.fsBase };
    const changed = new Set<RegisterPart>();
    let msrValue: bigint | undefined;
    for (const [index, bytes] of writes) {
      const part = writeRegister(copy, index, bytes);
      if (part === undefined) return E_BAD_PACKET;
      if (part === 'msr') {
        msrValue = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
        if (msrValue === file.fsBase) continue;
      }
      changed.add(part);
    }
    this.kernel.invalidate();
    if (changed.has('context') && !equalBytes(copy.context.bytes, file.context.bytes)) await this.session.setContext(copy.context, { processor: cpu });
    if (changed.has('special') && copy.special !== undefined && file.special !== undefined && !equalBytes(copy.special, file.special)) {
      const r = await this.session.writeControlSpace(cpu, 2n, copy.special);
      if (r.bytesWritten !== copy.special.length) return E_FAULT;
    }
    if (changed.has('msr') && msrValue !== undefined) {
      await this.session.writeMsr(0xc0000100, msrValue, { processor: cpu });
    }
    return 'OK';
  }

  private async breakpoint(insert: boolean, address: bigint): Promise<StubReply> {
    this.kernel.readAhead.invalidate();
    if (insert) {
      if (!this.kernel.breakpoints.has(address)) {
        const before = await this.session.readVirtual(address, 1, { processor: this.generalCpu() });
        const handle = await this.session.writeBreakpoint(address, { processor: this.generalCpu() });
        this.kernel.breakpoints.set(address, { handle, original: before.bytesRead === 1 ? before.data[0] : undefined });
      }
      this.planted.add(address);
      return one('OK');
    }
    const bp = this.kernel.breakpoints.get(address);
    if (bp === undefined) return one('OK');
    this.kernel.breakpoints.delete(address);
    this.planted.delete(address);
    await this.session.restoreBreakpoint(bp.handle);
    return one('OK');
  }

  /**
   * Z1–Z4 / z1–z4: the debug registers of every CPU are rewritten at once (KernelDr0–3 through
   * WriteControlSpace, spec 2.6), and the Dr7 enables go out with the next ContinueApi2 (spec 2.3).
   * What cannot be armed (a fifth, a bad length, misaligned) is refused with an E reply, so gdb
   * reports that it could not insert the breakpoint.
   */
  private async hardwareBreakpoint(insert: boolean, type: HardwareType, address: bigint, length: number): Promise<StubReply> {
    const current = this.kernel.hardware;
    let next: readonly HardwareSlot[];
    if (insert) {
      const placed = placeHardware(current, type, address, length);
      if ('refused' in placed) return one(HARDWARE_REFUSAL_REPLY[placed.refused]);
      next = placed.slots;
    } else {
      next = removeHardware(current, type, address, length);
      if (next === current) return one('OK');
    }
    await this.armHardware(next);
    if (insert) this.plantedHardware.add(next[next.length - 1]);
    else for (const h of current) if (!next.includes(h)) this.plantedHardware.delete(h);
    return one('OK');
  }

  private async armHardware(slots: readonly HardwareSlot[]): Promise<void> {
    await this.session.setHardwareBreakpoints(debugRegistersOf(slots));
    this.kernel.hardware = slots;
    // The cached special registers hold the old KernelDr0–3.
    this.kernel.invalidate();
  }

  /** The watched bytes of each read watchpoint, to tell its reads from writes after a hit. */
  private async readWatchValues(): Promise<Map<HardwareSlot, Uint8Array | undefined>> {
    const values = new Map<HardwareSlot, Uint8Array | undefined>();
    for (const h of this.kernel.hardware) {
      if (h.type !== 3) continue;
      values.set(h, await this.watchedValue(h));
    }
    return values;
  }

  private async watchedValue(h: HardwareSlot): Promise<Uint8Array | undefined> {
    const r = await this.session.readVirtual(h.address, h.length, { processor: this.currentProcessor() }).catch(() => undefined);
    return r !== undefined && r.bytesRead === h.length ? r.data.slice() : undefined;
  }

  /**
   * The hit to report for a stop: a read watchpoint's slot also fires on writes (x86 has no
   * read-only data breakpoint), so a hit that changed the watched value is a write, not a read.
   */
  private async reportedHit(stop: WaitStateChange, before: Map<HardwareSlot, Uint8Array | undefined>): Promise<{ hit: HardwareHit | undefined; write: boolean }> {
    const hit = this.hardwareHitOf(stop);
    if (hit?.kind !== 'rwatch' || isReadHit(before.get(hit.slot), await this.watchedValue(hit.slot))) return { hit, write: false };
    return { hit: undefined, write: true };
  }

  private async removeOwnBreakpoints(): Promise<void> {
    if (this.plantedHardware.size > 0) {
      const keep = this.kernel.hardware.filter((h) => !this.plantedHardware.has(h));
      this.plantedHardware.clear();
      if (this.session.state === 'stopped') await this.armHardware(keep).catch(() => undefined);
    }
    for (const address of [...this.planted]) {
      const bp = this.kernel.breakpoints.get(address);
      this.planted.delete(address);
      if (bp === undefined) continue;
      this.kernel.breakpoints.delete(address);
      if (this.session.state === 'stopped') await this.session.restoreBreakpoint(bp.handle).catch(() => undefined);
    }
  }

  /**
   * c / s / vCont. A kernel resumes as a whole (KD has no per-CPU continue), so `c` for any thread
   * continues all CPUs; `s` steps one CPU: KD single-steps the CPU that reported the stop, so
   * stepping another CPU first switches to it (SwitchProcessor).
   */
  private async resume(actions: readonly VContAction[], address: bigint | undefined): Promise<StubReply> {
    if (actions.every((a) => a.action === 't')) return one('OK');
    const step = actions.find((a) => a.action === 's');
    if (this.session.state !== 'stopped') await this.ensureStopped();
    if (address !== undefined) {
      const file = await this.kernel.registers(this.currentProcessor());
      const context = new CpuContext('amd64', file.context.bytes.slice()).set('rip', address);
      await this.session.setContext(context, { processor: this.currentProcessor() });
    }
    this.kernel.invalidate();
    try {
      if (step !== undefined) {
        const cpu = step.thread !== undefined && step.thread > 0 ? processorOfThread(step.thread) : this.currentProcessor();
        if (cpu !== this.currentProcessor()) await this.session.switchProcessor(cpu);
        const before = await this.readWatchValues();
        const stopped = await this.session.singleStep({ timeoutMs: 30_000 });
        // A step that wrote a read-watched location is just a step.
        return one(this.stopReply(stopped, false, (await this.reportedHit(stopped, before)).hit));
      }
      for (;;) {
        const before = await this.readWatchValues();
        await this.session.continue();
        this.running = true;
        // 0x03 may have come while the `c` was on its way (the client sends it whenever it likes).
        if (this.interruptRequested) this.breakIn();
        const stopped = await this.waitForStop();
        this.running = false;
        const { hit, write } = await this.reportedHit(stopped, before);
        // A write to a read-watched location: not what gdb asked to stop for; run on.
        if (write && !this.interruptRequested) {
          this.kernel.invalidate();
          continue;
        }
        // The client's interrupt is the reason it hears, whatever else fired at the same moment.
        return one(this.stopReply(stopped, this.interruptRequested, this.interruptRequested ? undefined : hit));
      }
    } finally {
      this.running = false;
      this.generalProcessor = undefined;
    }
  }

  /** Waits for the kernel to stop, forwarding DbgPrint text as `O` packets meanwhile. */
  private async waitForStop(): Promise<WaitStateChange> {
    const prints: Subscription = this.session.events$.subscribe((event) => {
      if (event.kind === 'print' && event.text.length > 0) this.options.sendOutput(`O${toHex(Buffer.from(event.text, 'latin1'))}`);
    });
    try {
      for (;;) {
        try {
          return await this.session.waitForStateChange(RUN_WAIT_MS);
        } catch (error) {
          if (isVmkdError(error) && error.code === KdSessionErrorCode.Timeout && !this.gone) continue;
          throw error;
        }
      }
    } finally {
      prints.unsubscribe();
    }
  }

  /**
   * 0x03 during a command: stop the running kernel (a KD break-in), now or as soon as the pending
   * `c` has resumed it; that `c` then answers with SIGINT. The shell passes on only the interrupts
   * that arrive while a command is pending (gdb manual, "Interrupts": ignored otherwise).
   */
  interrupt(): void {
    this.interruptRequested = true;
    if (this.running) this.breakIn();
  }

  private breakIn(): void {
    this.session.breakIn({ timeoutMs: 30_000 }).catch(() => undefined);
  }

  /**
   * The client went away without `D`: the kernel is left stopped (broken into if it was running)
   * and the breakpoints this client planted are removed, so the next client starts clean.
   */
  async clientGone(): Promise<void> {
    this.gone = true;
    // Nobody will ask for the blocks read ahead for this client.
    this.kernel.readAhead.invalidate();
    try {
      if (this.session.state === 'running') await this.session.breakIn({ timeoutMs: 30_000 });
      await this.removeOwnBreakpoints();
    } catch {
      // The target itself may be gone; the route reports that, the next client retries.
    }
  }

  private async monitor(command: string): Promise<StubReply> {
    // A raw `kd` request may write memory or registers: nothing cached survives a monitor command.
    this.kernel.invalidate();
    const text = await runMonitor(command, {
      session: this.session,
      version: () => this.kernel.version(),
      processor: this.generalCpu(),
      packageVersion: this.options.packageVersion,
    });
    const packets: string[] = [];
    // Each O packet carries at most half a packet of text (hex doubles it).
    const bytes = Buffer.from(text, 'utf8');
    const piece = Math.floor(this.options.packetSize / 2) - 1;
    for (let at = 0; at < bytes.length; at += piece) packets.push(`O${toHex(bytes.subarray(at, at + piece))}`);
    packets.push('OK');
    return { packets };
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
