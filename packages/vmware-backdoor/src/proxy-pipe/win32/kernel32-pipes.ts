import { importKoffi } from '../../native/import-koffi.js';
import type { KoffiModule } from '../../native/import-koffi.js';
import { NativeErrorCode, nativeError } from '../../native/errors.js';

/**
 * The Win32 calls a message-mode named pipe needs, bound through koffi. Node's `net` module only
 * makes byte-mode pipes, and VirtualKD's forwarder writes one KDRPC body per *message*
 * (virtualkd-kdrpc spec §6.3), so this is the one place vmkd talks to kernel32 for I/O.
 *
 * Handles and pointers are bigints (koffi 3 returns `void *` as a bigint). Every call that can
 * fail is followed by `GetLastError()`: koffi keeps the thread's last-error value across its own
 * work, so the value read is the one the failing call set.
 */
export interface PipeApi {
  readonly koffi: KoffiModule;
  CreateNamedPipeW(name: string, openMode: number, pipeMode: number, maxInstances: number, outSize: number, inSize: number, timeoutMs: number, sa: bigint | null): bigint;
  CreateFileW(name: string, access: number, share: number, sa: bigint | null, disposition: number, flags: number, template: bigint | null): bigint;
  ConnectNamedPipe(pipe: bigint, overlapped: bigint): number;
  DisconnectNamedPipe(pipe: bigint): number;
  SetNamedPipeHandleState(pipe: bigint, mode: number[], maxCollection: null, timeout: null): number;
  PeekNamedPipe(pipe: bigint, buffer: null, size: number, read: null, available: number[], leftThisMessage: number[]): number;
  ReadFile(file: bigint, buffer: bigint, size: number, read: null, overlapped: bigint): number;
  WriteFile(file: bigint, buffer: bigint, size: number, written: null, overlapped: bigint): number;
  GetOverlappedResult(file: bigint, overlapped: bigint, transferred: number[], wait: number): number;
  CancelIoEx(file: bigint, overlapped: bigint | null): number;
  CreateEventW(sa: null, manualReset: number, initialState: number, name: null): bigint;
  SetEvent(event: bigint): number;
  CloseHandle(handle: bigint): number;
  GetLastError(): number;
  LocalFree(memory: bigint): bigint;
  ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl: string, revision: number, descriptor: bigint[], size: null): number;
  /** Blocks a koffi worker thread, never the event loop: `WaitForMultipleObjects` through `.async`. */
  waitForMultipleObjectsAsync(handles: BigUint64Array, waitAll: number, timeoutMs: number, done: (error: unknown, index: number) => void): void;
}

/** Win32 constants (winbase.h, winerror.h). */
export const Win32 = {
  INVALID_HANDLE_VALUE: 0xffff_ffff_ffff_ffffn,
  PIPE_ACCESS_DUPLEX: 0x3,
  FILE_FLAG_OVERLAPPED: 0x4000_0000,
  FILE_FLAG_FIRST_PIPE_INSTANCE: 0x0008_0000,
  PIPE_TYPE_MESSAGE: 0x4,
  PIPE_READMODE_MESSAGE: 0x2,
  PIPE_WAIT: 0x0,
  PIPE_REJECT_REMOTE_CLIENTS: 0x8,
  GENERIC_READ: 0x8000_0000,
  GENERIC_WRITE: 0x4000_0000,
  OPEN_EXISTING: 3,
  INFINITE: 0xffff_ffff,
  WAIT_FAILED: 0xffff_ffff,
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  ERROR_INVALID_HANDLE: 6,
  ERROR_BROKEN_PIPE: 109,
  ERROR_SEM_TIMEOUT: 121,
  ERROR_PIPE_BUSY: 231,
  ERROR_NO_DATA: 232,
  ERROR_PIPE_NOT_CONNECTED: 233,
  ERROR_MORE_DATA: 234,
  ERROR_OPERATION_ABORTED: 995,
  ERROR_IO_PENDING: 997,
  ERROR_PIPE_CONNECTED: 535,
  SDDL_REVISION_1: 1,
  /** `OVERLAPPED` on x64: Internal, InternalHigh, Offset/OffsetHigh (or Pointer), hEvent. */
  OVERLAPPED_SIZE: 32,
  OVERLAPPED_EVENT_OFFSET: 24,
  /** `SECURITY_ATTRIBUTES` on x64: nLength (u32, padded), lpSecurityDescriptor, bInheritHandle. */
  SECURITY_ATTRIBUTES_SIZE: 24,
} as const;

let apiPromise: Promise<PipeApi> | undefined;

/** kernel32 and advapi32, bound on first use (never at import time) and memoised. */
export function loadPipeApi(): Promise<PipeApi> {
  apiPromise ??= bind().catch((error: unknown) => {
    apiPromise = undefined;
    throw error;
  });
  return apiPromise;
}

async function bind(): Promise<PipeApi> {
  if (process.platform !== 'win32') {
    throw nativeError(NativeErrorCode.UnsupportedPlatform, `message-mode named pipes need Windows, not ${process.platform}`, { platform: process.platform });
  }
  const koffi = await importKoffi();
  const kernel32 = load(koffi, 'kernel32.dll');
  const advapi32 = load(koffi, 'advapi32.dll');
  const wait = kernel32.func('uint32_t __stdcall WaitForMultipleObjects(uint32_t count, void *handles, int waitAll, uint32_t ms)');
  return {
    koffi,
    CreateNamedPipeW: kernel32.func(
      'void * __stdcall CreateNamedPipeW(str16 name, uint32_t openMode, uint32_t pipeMode, uint32_t maxInstances, uint32_t outSize, uint32_t inSize, uint32_t timeout, void *sa)',
    ),
    CreateFileW: kernel32.func('void * __stdcall CreateFileW(str16 name, uint32_t access, uint32_t share, void *sa, uint32_t disposition, uint32_t flags, void *template)'),
    ConnectNamedPipe: kernel32.func('int __stdcall ConnectNamedPipe(void *pipe, void *overlapped)'),
    DisconnectNamedPipe: kernel32.func('int __stdcall DisconnectNamedPipe(void *pipe)'),
    SetNamedPipeHandleState: kernel32.func('int __stdcall SetNamedPipeHandleState(void *pipe, _Inout_ uint32_t *mode, uint32_t *maxCollection, uint32_t *timeout)'),
    PeekNamedPipe: kernel32.func(
      'int __stdcall PeekNamedPipe(void *pipe, void *buffer, uint32_t size, uint32_t *read, _Out_ uint32_t *available, _Out_ uint32_t *leftThisMessage)',
    ),
    ReadFile: kernel32.func('int __stdcall ReadFile(void *file, void *buffer, uint32_t size, uint32_t *read, void *overlapped)'),
    WriteFile: kernel32.func('int __stdcall WriteFile(void *file, void *buffer, uint32_t size, uint32_t *written, void *overlapped)'),
    GetOverlappedResult: kernel32.func('int __stdcall GetOverlappedResult(void *file, void *overlapped, _Out_ uint32_t *transferred, int wait)'),
    CancelIoEx: kernel32.func('int __stdcall CancelIoEx(void *file, void *overlapped)'),
    CreateEventW: kernel32.func('void * __stdcall CreateEventW(void *sa, int manualReset, int initialState, void *name)'),
    SetEvent: kernel32.func('int __stdcall SetEvent(void *event)'),
    CloseHandle: kernel32.func('int __stdcall CloseHandle(void *handle)'),
    GetLastError: kernel32.func('uint32_t __stdcall GetLastError()'),
    LocalFree: kernel32.func('void * __stdcall LocalFree(void *memory)'),
    ConvertStringSecurityDescriptorToSecurityDescriptorW: advapi32.func(
      'int __stdcall ConvertStringSecurityDescriptorToSecurityDescriptorW(str16 sddl, uint32_t revision, _Out_ void **descriptor, uint32_t *size)',
    ),
    waitForMultipleObjectsAsync(handles, waitAll, timeoutMs, done) {
      (wait as unknown as { async: (...args: unknown[]) => void }).async(handles.length, handles, waitAll, timeoutMs, done);
    },
  };
}

function load(koffi: KoffiModule, name: string): ReturnType<KoffiModule['load']> {
  try {
    return koffi.load(name);
  } catch (cause) {
    throw nativeError(NativeErrorCode.LoadFailed, `cannot load ${name}`, { library: name }, cause);
  }
}
