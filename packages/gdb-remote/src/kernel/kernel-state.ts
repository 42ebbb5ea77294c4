import { CpuContext, KdLimits, type DebuggerSession, type GetVersion64 } from '@vmkd/kd-protocol';
import { MSR_FS_BASE } from '../registers/register-map.js';
import type { HardwareSlot } from './hardware-slots.js';
import type { RegisterFile } from '../registers/register-file.js';
import { ReadAhead } from './read-ahead.js';

/**
 * What the endpoint knows about the kernel across RSP clients: the KD session, GetVersion (fixed
 * for a boot), the software breakpoints gdb planted (address → KD handle) and, per stop, each CPU's
 * registers. Everything cached is dropped when the kernel runs again.
 */
export class KernelState {
  private versionValue: Promise<GetVersion64> | undefined;
  private readonly registerFiles = new Map<number, Promise<RegisterFile>>();
  /** The FS-base MSR read failed once: the target does not serve it, don't ask every stop. */
  private fsBaseUnsupported = false;
  /** Software breakpoints planted through KD: address → handle and the byte the int3 replaced. */
  readonly breakpoints = new Map<bigint, { readonly handle: number; readonly original: number | undefined }>();
  /** Hardware breakpoints and watchpoints armed in the debug registers (Z1–Z4). */
  hardware: readonly HardwareSlot[] = [];

  readonly readAhead: ReadAhead;

  constructor(readonly session: DebuggerSession) {
    this.readAhead = new ReadAhead(session);
  }

  version(): Promise<GetVersion64> {
    if (this.versionValue === undefined) {
      const pending = this.session.getVersion();
      this.versionValue = pending;
      pending.catch(() => {
        if (this.versionValue === pending) this.versionValue = undefined;
      });
    }
    return this.versionValue;
  }

  /** One CPU's registers at this stop (read once, then served from the cache). */
  registers(processor: number): Promise<RegisterFile> {
    let file = this.registerFiles.get(processor);
    if (file === undefined) {
      file = this.readRegisters(processor);
      this.registerFiles.set(processor, file);
      file.catch(() => this.registerFiles.delete(processor));
    }
    return file;
  }

  private async readRegisters(processor: number): Promise<RegisterFile> {
    const context: CpuContext = await this.session.getContext({ processor });
    const special = await this.session.readControlSpace(processor, 2n, KdLimits.Amd64SpecialRegistersSize);
    let fsBase: bigint | undefined;
    if (!this.fsBaseUnsupported) {
      try {
        fsBase = await this.session.readMsr(MSR_FS_BASE, { processor });
      } catch {
        this.fsBaseUnsupported = true;
      }
    }
    return {
      context,
      special: special.bytesRead === KdLimits.Amd64SpecialRegistersSize ? special.data.slice() : undefined,
      fsBase,
    };
  }

  /**
   * Puts the original bytes back over planted int3s in a read (KD reads show the int3 itself):
   * what gdb and lldb expect of a stub that handles Z0, and what disassembly must show.
   */
  shadowBreakpoints(address: bigint, data: Uint8Array): void {
    if (this.breakpoints.size === 0) return;
    const end = address + BigInt(data.length);
    for (const [at, bp] of this.breakpoints) {
      if (at >= address && at < end && bp.original !== undefined) data[Number(at - address)] = bp.original;
    }
  }

  /** The kernel is about to run (or its registers were written): forget what was read. */
  invalidate(): void {
    this.registerFiles.clear();
    this.readAhead.invalidate();
  }
}
