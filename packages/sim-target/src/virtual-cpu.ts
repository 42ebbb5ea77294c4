import { Amd64ContextOffset } from '@vmkd/kd-protocol/kernel';
import { view } from './amd64-context.js';
import type { CpuBlock } from './kernel-builder.js';
import { translate } from './page-tables.js';
import { PAGE_SIZE, type PhysicalMemory } from './physical-memory.js';
import type { VirtualMemory } from './virtual-memory.js';

/** Why a CPU stopped executing: an exception it raised. */
export interface Trap {
  readonly code: number;
  readonly address: bigint;
  readonly parameters: readonly bigint[];
  /** For a debug exception: the Dr6 bits that say why (B0–B3 for a hardware breakpoint, BS for a single step). */
  readonly dr6?: bigint;
}

export const ExceptionCode = {
  Breakpoint: 0x80000003,
  SingleStep: 0x80000004,
  AccessViolation: 0xc0000005,
  IllegalInstruction: 0xc000001d,
} as const;

/** An armed debug-register slot (Dr0–Dr3 with its Dr7 R/W and LEN fields). */
export interface Watch {
  readonly slot: number;
  readonly address: bigint;
  /** 0 execute, 1 write, 3 read or write (2, I/O, never matches a memory access). */
  readonly rw: number;
  readonly length: number;
}

/**
 * The virtual CPU: executes the handful of x86-64 instructions the simulated kernel's code uses,
 * reading them from simulated memory through the page tables, so whatever a debugger writes there
 * (an int3, a patched jump) is what runs. `nop` 90, `int3` CC, `ret` C3, `jmp rel8` EB, `jmp rel32`
 * E9, `call rel32` E8, and two memory instructions the idle loop uses: `inc qword [rip+disp32]`
 * (48 FF 05) and `mov rax, [moffs64]` (48 A1). Any other opcode raises an illegal-instruction
 * exception, a fetch from an unmapped page an access violation. Runs of NOPs are skipped in bulk.
 *
 * Hardware breakpoints follow the SDM (vol. 3, 18.2–18.3): an execute slot faults before the
 * instruction runs (RIP at it), a data slot traps after the access (RIP after the instruction);
 * both raise a debug exception that Windows reports as STATUS_SINGLE_STEP with Dr6 saying which
 * slot fired. `resumeFlag` is EFLAGS.RF: the first instruction after a resume does not fault on
 * an execute slot again.
 */
export class VirtualCpu {
  private readonly ctx: DataView;
  /** Armed slots; set by the kernel from KernelDr0–3 and Dr7 at every resume. */
  watches: readonly Watch[] = [];
  resumeFlag = false;

  constructor(
    readonly block: CpuBlock,
    private readonly memory: PhysicalMemory,
    private readonly space: VirtualMemory,
  ) {
    this.ctx = view(block.context);
  }

  get rip(): bigint {
    return this.ctx.getBigUint64(Amd64ContextOffset.Rip, true);
  }

  set rip(value: bigint) {
    this.ctx.setBigUint64(Amd64ContextOffset.Rip, BigInt.asUintN(64, value), true);
  }

  get rsp(): bigint {
    return this.ctx.getBigUint64(Amd64ContextOffset.Rsp, true);
  }

  set rsp(value: bigint) {
    this.ctx.setBigUint64(Amd64ContextOffset.Rsp, BigInt.asUintN(64, value), true);
  }

  /** Pushes a return address, as `call` does; false when the stack is not writable. */
  push(value: bigint): boolean {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    if (this.space.write(this.rsp - 8n, b) !== 8) return false;
    this.rsp = this.rsp - 8n;
    return true;
  }

  /**
   * Executes up to `budget` instructions. Returns the number executed and the trap that stopped
   * execution, if any (a faulting instruction is not counted and RIP is left at it; a data
   * breakpoint's instruction is counted and RIP is after it).
   */
  run(budget: number): { executed: number; trap?: Trap } {
    let executed = 0;
    let rip = this.rip;
    const executeSlots = this.watches.filter((w) => w.rw === 0);
    try {
      while (executed < budget) {
        if (executeSlots.length > 0) {
          const hit = executeSlots.find((w) => w.address === rip);
          if (hit !== undefined && !this.resumeFlag) {
            return { executed, trap: { code: ExceptionCode.SingleStep, address: rip, parameters: [], dr6: 1n << BigInt(hit.slot) } };
          }
        }
        this.resumeFlag = false;
        const t = translate(this.memory, this.space.root, rip);
        const page = t === undefined ? undefined : this.memory.peekPage(Math.floor(t.pa / PAGE_SIZE));
        if (t === undefined || page === undefined) return { executed, trap: { code: ExceptionCode.AccessViolation, address: rip, parameters: [8n, rip] } };
        // Bulk-skip NOPs within this page, never past an execute breakpoint.
        let offset = t.pa % PAGE_SIZE;
        const start = offset;
        let limit = Math.min(PAGE_SIZE, offset + (budget - executed));
        for (const w of executeSlots) {
          const d = w.address - rip;
          if (d > 0n && d < BigInt(limit - offset)) limit = offset + Number(d);
        }
        while (offset < limit && page[offset] === 0x90) offset++;
        if (offset > start) {
          executed += offset - start;
          rip += BigInt(offset - start);
          continue;
        }
        const step = this.decode(rip);
        if ('code' in step) return { executed, trap: step };
        rip = step.next;
        executed++;
        if (step.dr6 !== undefined) {
          return { executed, trap: { code: ExceptionCode.SingleStep, address: rip, parameters: [], dr6: step.dr6 } };
        }
      }
      return { executed };
    } finally {
      this.rip = rip;
    }
  }

  /** The Dr6 B bits of data slots that an access of `length` bytes at `address` meets. */
  private dataHits(address: bigint, length: number, write: boolean): bigint | undefined {
    let bits = 0n;
    for (const w of this.watches) {
      if (w.rw === 0 || w.rw === 2 || (w.rw === 1 && !write)) continue;
      if (address < w.address + BigInt(w.length) && w.address < address + BigInt(length)) bits |= 1n << BigInt(w.slot);
    }
    return bits === 0n ? undefined : bits;
  }

  private decode(rip: bigint): ({ next: bigint; dr6?: bigint }) | Trap {
    const bytes = this.space.read(rip, 10);
    const fault = (): Trap => ({ code: ExceptionCode.AccessViolation, address: rip, parameters: [8n, rip] });
    if (bytes.length === 0) return fault();
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    switch (bytes[0]) {
      case 0x90:
        return { next: rip + 1n };
      case 0xcc:
        // BREAKPOINT_BREAK: the one parameter Windows passes with an int3.
        return { code: ExceptionCode.Breakpoint, address: rip, parameters: [0n] };
      case 0xeb:
        if (bytes.length < 2) return fault();
        return { next: rip + 2n + BigInt(v.getInt8(1)) };
      case 0xe9:
        if (bytes.length < 5) return fault();
        return { next: rip + 5n + BigInt(v.getInt32(1, true)) };
      case 0xe8:
        if (bytes.length < 5) return fault();
        this.rip = rip;
        if (!this.push(rip + 5n)) return { code: ExceptionCode.AccessViolation, address: rip, parameters: [1n, this.rsp - 8n] };
        return { next: rip + 5n + BigInt(v.getInt32(1, true)) };
      case 0xc3: {
        const target = this.space.readU64(this.rsp);
        if (target === undefined) return { code: ExceptionCode.AccessViolation, address: rip, parameters: [0n, this.rsp] };
        this.rsp = this.rsp + 8n;
        return { next: target };
      }
      case 0x48:
        return this.decodeRexW(rip, bytes, v);
      default:
        return { code: ExceptionCode.IllegalInstruction, address: rip, parameters: [] };
    }
  }

  /** REX.W forms: `inc qword [rip+disp32]` (48 FF 05) and `mov rax, [moffs64]` (48 A1). */
  private decodeRexW(rip: bigint, bytes: Uint8Array, v: DataView): { next: bigint; dr6?: bigint } | Trap {
    const illegal: Trap = { code: ExceptionCode.IllegalInstruction, address: rip, parameters: [] };
    if (bytes[1] === 0xff && bytes[2] === 0x05 && bytes.length >= 7) {
      const next = rip + 7n;
      const target = BigInt.asUintN(64, next + BigInt(v.getInt32(3, true)));
      const value = this.space.readU64(target);
      if (value === undefined) return { code: ExceptionCode.AccessViolation, address: rip, parameters: [0n, target] };
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value + 1n), true);
      if (this.space.write(target, out) !== 8) return { code: ExceptionCode.AccessViolation, address: rip, parameters: [1n, target] };
      return { next, dr6: this.dataHits(target, 8, true) };
    }
    if (bytes[1] === 0xa1 && bytes.length >= 10) {
      const next = rip + 10n;
      const source = v.getBigUint64(2, true);
      const value = this.space.readU64(source);
      if (value === undefined) return { code: ExceptionCode.AccessViolation, address: rip, parameters: [0n, source] };
      this.ctx.setBigUint64(Amd64ContextOffset.Rax, value, true);
      return { next, dr6: this.dataHits(source, 8, false) };
    }
    return illegal;
  }
}
