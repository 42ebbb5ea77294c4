import type { KoffiModule } from './import-koffi.js';
import { NativeErrorCode, nativeError } from './errors.js';

const PAGE_SIZE = 4096;

/** A page of machine code, mapped read+execute (never writable and executable at once). */
export interface ExecutablePage {
  readonly address: bigint;
  readonly size: number;
}

/**
 * Copies `code` into a fresh page and flips it to read+execute (W^X). Linux: mmap + mprotect from
 * libc; Windows: VirtualAlloc + VirtualProtect + FlushInstructionCache from kernel32 (spec §6.3).
 * The page is never unmapped: the decoded functions that point into it live as long as the process.
 */
export function mapExecutablePage(koffi: KoffiModule, code: Uint8Array, platform: NodeJS.Platform = process.platform): ExecutablePage {
  const size = Math.ceil(Math.max(code.length, 1) / PAGE_SIZE) * PAGE_SIZE;
  if (platform === 'linux') return mapLinux(koffi, code, size);
  if (platform === 'win32') return mapWindows(koffi, code, size);
  throw nativeError(NativeErrorCode.UnsupportedPlatform, `no executable-page recipe for ${platform}`, { platform });
}

function mapLinux(koffi: KoffiModule, code: Uint8Array, size: number): ExecutablePage {
  const PROT_READ = 1;
  const PROT_WRITE = 2;
  const PROT_EXEC = 4;
  const MAP_PRIVATE = 0x02;
  const MAP_ANONYMOUS = 0x20;
  const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
  const libc = loadLibrary(koffi, 'libc.so.6');
  const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
  const mprotect = libc.func('int mprotect(void *addr, size_t length, int prot)');
  koffi.errno(0);
  const address = toAddress(mmap(null, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (address === 0n || address === MAP_FAILED) {
    throw nativeError(NativeErrorCode.ExecPageFailed, 'mmap of the stub page failed', { errno: koffi.errno() });
  }
  new Uint8Array(koffi.view(address, size)).set(code);
  if (mprotect(address, size, PROT_READ | PROT_EXEC) !== 0) {
    // SELinux execmem or PaX MPROTECT: the fallbacks (a double-mapped memfd, a prebuilt .so) are not built.
    throw nativeError(NativeErrorCode.ExecPageFailed, 'mprotect(PROT_READ|PROT_EXEC) of the stub page was refused', { errno: koffi.errno() });
  }
  return { address, size };
}

function mapWindows(koffi: KoffiModule, code: Uint8Array, size: number): ExecutablePage {
  const MEM_COMMIT_RESERVE = 0x3000;
  const PAGE_READWRITE = 0x04;
  const PAGE_EXECUTE_READ = 0x20;
  const kernel32 = loadLibrary(koffi, 'kernel32.dll');
  const VirtualAlloc = kernel32.func('void * __stdcall VirtualAlloc(void *addr, size_t size, uint32_t type, uint32_t protect)');
  const VirtualProtect = kernel32.func('int __stdcall VirtualProtect(void *addr, size_t size, uint32_t protect, _Out_ uint32_t *old)');
  const FlushInstructionCache = kernel32.func('int __stdcall FlushInstructionCache(void *process, void *addr, size_t size)');
  const GetCurrentProcess = kernel32.func('void * __stdcall GetCurrentProcess()');
  const address = toAddress(VirtualAlloc(null, size, MEM_COMMIT_RESERVE, PAGE_READWRITE));
  if (address === 0n) throw nativeError(NativeErrorCode.ExecPageFailed, 'VirtualAlloc of the stub page failed');
  new Uint8Array(koffi.view(address, size)).set(code);
  const old = [0];
  if (VirtualProtect(address, size, PAGE_EXECUTE_READ, old) === 0) {
    throw nativeError(NativeErrorCode.ExecPageFailed, 'VirtualProtect(PAGE_EXECUTE_READ) of the stub page failed');
  }
  FlushInstructionCache(GetCurrentProcess(), address, size);
  return { address, size };
}

function loadLibrary(koffi: KoffiModule, name: string): ReturnType<KoffiModule['load']> {
  try {
    return koffi.load(name);
  } catch (cause) {
    throw nativeError(NativeErrorCode.LoadFailed, `cannot load ${name}`, { library: name }, cause);
  }
}

function toAddress(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'number') return BigInt(value);
  throw new TypeError(`unexpected pointer value ${typeof value}`);
}
