import { Subject } from 'rxjs';
import { CpuContext, ContextFlag, KdLimits, NtStatus } from '../src/index.js';
import type { ResumeOptions, StopReason, TargetBackend, TargetEvent, TargetVersion } from '../src/target-backend.js';

export const KERNEL_BASE = 0xfffff80000000000n;
export const CODE = 0xfffff80000400000n;
const PAGE = 4096n;

/** Deterministic content of a mapped byte: a test can verify any read from the formula. */
export function patternByte(address: bigint): number {
  return Number((address ^ (address >> 8n) ^ (address >> 16n)) & 0xffn);
}

export interface TestBackend extends TargetBackend {
  readonly pages: Map<bigint, Uint8Array>;
  map(address: bigint, length: number): void;
  stop(reason: StopReason): void;
  print(text: string): void;
  readonly resumes: ResumeOptions[];
  /** When set, resume() without single step stops at this breakpoint address (asynchronously). */
  runTo: bigint | undefined;
}

/**
 * A small Map-backed TargetBackend for session tests: paged memory filled with `patternByte`,
 * unmapped holes, per-CPU contexts, int3 breakpoints that patch memory, break-in and single step.
 */
export function createTestBackend(processorCount = 2): TestBackend {
  const events = new Subject<TargetEvent>();
  const pages = new Map<bigint, Uint8Array>();
  const contexts = Array.from({ length: processorCount }, (_, cpu) =>
    new CpuContext('amd64')
      .set('contextflags', ContextFlag.Amd64All)
      .set('rip', CODE + BigInt(cpu) * 0x10n)
      .set('rsp', 0xfffff80000700000n)
      .set('eflags', 0x202)
      .set('cs', 0x10)
      .set('ds', 0x2b)
      .set('es', 0x2b)
      .set('fs', 0x53)
      .set('dr7', 0x400),
  );
  const special = Array.from({ length: processorCount }, () => new Uint8Array(KdLimits.Amd64SpecialRegistersSize).fill(0x5a));
  const breakpoints = new Map<number, { address: bigint; original: number }>();
  let nextHandle = 1;
  let running = false;

  const map = (address: bigint, length: number): void => {
    for (let page = address & ~(PAGE - 1n); page < address + BigInt(length); page += PAGE) {
      if (pages.has(page)) continue;
      const bytes = new Uint8Array(Number(PAGE));
      for (let i = 0; i < bytes.length; i++) bytes[i] = patternByte(page + BigInt(i));
      pages.set(page, bytes);
    }
  };

  const read = (address: bigint, length: number): Uint8Array => {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = address + BigInt(done);
      const page = pages.get(at & ~(PAGE - 1n));
      if (page === undefined) return out.subarray(0, done);
      const offset = Number(at & (PAGE - 1n));
      const n = Math.min(length - done, page.length - offset);
      out.set(page.subarray(offset, offset + n), done);
      done += n;
    }
    return out;
  };

  const write = (address: bigint, data: Uint8Array): number => {
    let done = 0;
    while (done < data.length) {
      const at = address + BigInt(done);
      const page = pages.get(at & ~(PAGE - 1n));
      if (page === undefined) return done;
      const offset = Number(at & (PAGE - 1n));
      const n = Math.min(data.length - done, page.length - offset);
      page.set(data.subarray(done, done + n), offset);
      done += n;
    }
    return done;
  };

  map(CODE, 0x2000);
  write(CODE, Uint8Array.of(0x90, 0x90, 0x90, 0x90, 0xc3));

  const backend: TestBackend = {
    processorCount,
    events$: events.asObservable(),
    pages,
    map,
    resumes: [],
    runTo: undefined,
    get running() {
      return running;
    },
    version: (): TargetVersion => ({
      majorVersion: 0x0f,
      minorVersion: 19041,
      protocolVersion: 6,
      kdSecondaryVersion: 2,
      flags: 7,
      machineType: 0x8664,
      maxPacketType: 12,
      maxStateChange: 3,
      maxManipulate: 0x31,
      simulation: 0,
      kernBase: KERNEL_BASE,
      psLoadedModuleList: KERNEL_BASE + 0x600000n,
      debuggerDataList: KERNEL_BASE + 0x100000n,
    }),
    processorLevel: () => 6,
    currentThread: (cpu) => 0xfffff80000500000n + BigInt(cpu) * 0x1000n,
    readVirtual: (address, length) => read(address, length),
    writeVirtual: (address, data) => write(address, data),
    readPhysical: (address, length) => read(address + KERNEL_BASE, length),
    writePhysical: (address, data) => write(address + KERNEL_BASE, data),
    readControlSpace: (cpu, offset, length) => {
      if (offset === 2n) return special[cpu].subarray(0, Math.min(length, special[cpu].length));
      if (offset <= 3n) {
        const out = new Uint8Array(8);
        new DataView(out.buffer).setBigUint64(0, 0xfffff80000800000n + BigInt(cpu) * 0x10000n + offset * 0x100n, true);
        return out.subarray(0, Math.min(length, 8));
      }
      return new Uint8Array(0);
    },
    writeControlSpace: (cpu, offset, data) => {
      if (offset !== 2n) return 0;
      const n = Math.min(data.length, special[cpu].length);
      special[cpu].set(data.subarray(0, n));
      return n;
    },
    readMsr: (cpu, msr) => (msr === 0xc0000082 ? 0xfffff80000401000n + BigInt(cpu) : undefined),
    writeMsr: (_cpu, msr) => msr === 0xc0000082,
    getContext: (cpu) => contexts[cpu].bytes.slice(),
    setContext: (cpu, context) => contexts[cpu].bytes.set(context),
    writeBreakpoint: (address) => {
      const original = read(address, 1);
      if (original.length !== 1) return undefined;
      write(address, Uint8Array.of(0xcc));
      const handle = nextHandle++;
      breakpoints.set(handle, { address, original: original[0] });
      return handle;
    },
    restoreBreakpoint: (handle) => {
      const bp = breakpoints.get(handle);
      if (bp === undefined) return false;
      write(bp.address, Uint8Array.of(bp.original));
      breakpoints.delete(handle);
      return true;
    },
    resume: (options) => {
      backend.resumes.push(options);
      running = true;
      const cpu = options.cpu;
      if (options.singleStep) {
        const rip = contexts[cpu].get('rip') + 1n;
        contexts[cpu].set('rip', rip);
        backend.stop({ kind: 'exception', cpu, code: NtStatus.SingleStep, address: rip, firstChance: true });
      } else if (backend.runTo !== undefined) {
        const address = backend.runTo;
        setTimeout(() => {
          contexts[cpu].set('rip', address);
          backend.stop({ kind: 'exception', cpu, code: NtStatus.Breakpoint, address, firstChance: true });
        }, 5);
      }
    },
    breakIn: () => {
      if (!running) return;
      queueMicrotask(() => backend.stop({ kind: 'exception', cpu: 0, code: NtStatus.Breakpoint, address: contexts[0].get('rip'), firstChance: true }));
    },
    stop: (reason) => {
      running = false;
      events.next({ kind: 'stop', reason });
    },
    print: (text) => events.next({ kind: 'print', text }),
  };
  return backend;
}
