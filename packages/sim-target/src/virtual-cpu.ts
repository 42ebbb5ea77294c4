import { ContextOffset, view } from './amd64-context.js';
import type { CpuBlock } from './kernel-builder.js';
import { translate } from './page-tables.js';
import { PAGE_SIZE, type PhysicalMemory } from './physical-memory.js';
import type { VirtualMemory } from './virtual-memory.js';

/** Why a CPU stopped executing: an exception it raised. */
export interface Trap {
  readonly code: number;
  readonly address: bigint;
  readonly parameters: readonly bigint[];
}

export const ExceptionCode = {
  Breakpoint: 0x80000003,
  SingleStep: 0x80000004,
  AccessViolation: 0xc0000005,
  IllegalInstruction: 0xc000001d,
} as const;

/**
 * The virtual CPU: executes the handful of x86-64 instructions the simulated kernel's code uses,
 * reading them from simulated memory through the page tables, so whatever a debugger writes there
 * (an int3, a patched jump) is what runs. `nop` 90, `int3` CC, `ret` C3, `jmp rel8` EB, `jmp rel32`
 * E9 and `call rel32` E8; any other opcode raises an illegal-instruction exception, a fetch from an
 * unmapped page an access violation. Runs of NOPs are skipped in bulk.
 */
export class VirtualCpu {
  private readonly ctx: DataView;

  constructor(
    readonly block: CpuBlock,
    private readonly memory: PhysicalMemory,
    private readonly space: VirtualMemory,
  ) {
    this.ctx = view(block.context);
  }

  get rip(): bigint {
    return this.ctx.getBigUint64(ContextOffset.Rip, true);
  }

  set rip(value: bigint) {
    this.ctx.setBigUint64(ContextOffset.Rip, BigInt.asUintN(64, value), true);
  }

  get rsp(): bigint {
    return this.ctx.getBigUint64(ContextOffset.Rsp, true);
  }

  set rsp(value: bigint) {
    this.ctx.setBigUint64(ContextOffset.Rsp, BigInt.asUintN(64, value), true);
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
   * execution, if any (the trapping instruction is not counted; RIP is left at it).
   */
  run(budget: number): { executed: number; trap?: Trap } {
    let executed = 0;
    let rip = this.rip;
    try {
      while (executed < budget) {
        const t = translate(this.memory, this.space.root, rip);
        const page = t === undefined ? undefined : this.memory.peekPage(Math.floor(t.pa / PAGE_SIZE));
        if (t === undefined || page === undefined) return { executed, trap: { code: ExceptionCode.AccessViolation, address: rip, parameters: [8n, rip] } };
        // Bulk-skip NOPs within this page.
        let offset = t.pa % PAGE_SIZE;
        const start = offset;
        const limit = Math.min(PAGE_SIZE, offset + (budget - executed));
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
      }
      return { executed };
    } finally {
      this.rip = rip;
    }
  }

  private decode(rip: bigint): { next: bigint } | Trap {
    const bytes = this.space.read(rip, 5);
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
      default:
        return { code: ExceptionCode.IllegalInstruction, address: rip, parameters: [] };
    }
  }
}
