import { importKoffi } from './import-koffi.js';
import type { KoffiModule } from './import-koffi.js';
import { mapExecutablePage } from './exec-page.js';
import type { ExecutablePage } from './exec-page.js';
import { NativeErrorCode, nativeError } from './errors.js';
import { REGISTER_BLOCK_SLOTS, RegisterSlot, stubBytes, stubsForPlatform } from './stubs.js';
import type { StubAbi, StubName } from './stubs.js';

const STUB_ALIGN = 16;
const STUB_ORDER: readonly StubName[] = ['cpuid', 'ioLb', 'ioHbOut', 'ioHbIn', 'vmcall', 'vmmcall'];

export interface CpuidResult {
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
}

/**
 * A register block as the stubs see it: 7 × u64 (RAX, RBX, RCX, RDX, RSI, RDI, RBP). `u32` and `u64`
 * are two views of the same memory, so 32-bit protocol registers and 64-bit buffer addresses are
 * both cheap to set.
 */
export interface RegisterBlock {
  readonly u32: Uint32Array;
  readonly u64: BigUint64Array;
}

export function createRegisterBlock(): RegisterBlock {
  const u64 = new BigUint64Array(REGISTER_BLOCK_SLOTS);
  return { u64, u32: new Uint32Array(u64.buffer) };
}

/** The loaded stubs. Calling `ioLb`/`ioHbOut`/`ioHbIn`/`vmcall`/`vmmcall` outside VMware kills the process (§5.2). */
export interface NativeStubs {
  readonly abi: StubAbi;
  readonly page: ExecutablePage;
  readonly koffi: KoffiModule;
  /** Runs one stub on a register block, in place. */
  run(stub: StubName, block: RegisterBlock): void;
  /** CPUID (always safe): leaf in EAX, subleaf in ECX. */
  cpuid(leaf: number, subleaf?: number): CpuidResult;
}

let nativePromise: Promise<NativeStubs> | undefined;

/**
 * Loads koffi, maps the stubs for this platform's calling convention into one executable page and
 * decodes each function pointer once (memoised). Never called at import time.
 */
export function loadNative(): Promise<NativeStubs> {
  nativePromise ??= load().catch((error: unknown) => {
    nativePromise = undefined;
    throw error;
  });
  return nativePromise;
}

async function load(): Promise<NativeStubs> {
  if (process.arch !== 'x64' || (process.platform !== 'linux' && process.platform !== 'win32')) {
    throw nativeError(NativeErrorCode.UnsupportedPlatform, `the VMware backdoor stubs need x86-64 Linux or Windows, not ${process.platform}/${process.arch}`, {
      platform: process.platform,
      arch: process.arch,
    });
  }
  const koffi = await importKoffi();
  const set = stubsForPlatform();
  const offsets = new Map<StubName, number>();
  const chunks: number[] = [];
  for (const name of STUB_ORDER) {
    while (chunks.length % STUB_ALIGN !== 0) chunks.push(0xcc); // int3 padding between stubs
    offsets.set(name, chunks.length);
    chunks.push(...stubBytes(set[name]));
  }
  const page = mapExecutablePage(koffi, Uint8Array.from(chunks));
  // One prototype for every stub; the name must be unique in koffi's global type table.
  const proto = koffi.proto('void __vmkd_backdoor_stub(_Inout_ uint32_t *block)');
  const functions = new Map<StubName, (block: Uint32Array) => void>();
  for (const name of STUB_ORDER) {
    functions.set(name, koffi.decode(page.address + BigInt(offsets.get(name) ?? 0), proto) as (block: Uint32Array) => void);
  }
  const cpuidBlock = createRegisterBlock();
  const runStub = (name: StubName, block: RegisterBlock): void => {
    (functions.get(name) as (block: Uint32Array) => void)(block.u32);
  };
  return {
    abi: process.platform === 'win32' ? 'win64' : 'sysv',
    page,
    koffi,
    run: runStub,
    cpuid(leaf: number, subleaf = 0): CpuidResult {
      const b = cpuidBlock.u32;
      b.fill(0);
      b[RegisterSlot.rax * 2] = leaf >>> 0;
      b[RegisterSlot.rcx * 2] = subleaf >>> 0;
      runStub('cpuid', cpuidBlock);
      return { eax: b[RegisterSlot.rax * 2] ?? 0, ebx: b[RegisterSlot.rbx * 2] ?? 0, ecx: b[RegisterSlot.rcx * 2] ?? 0, edx: b[RegisterSlot.rdx * 2] ?? 0 };
    },
  };
}
