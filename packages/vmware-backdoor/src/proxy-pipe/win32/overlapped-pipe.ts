import { Win32 } from './kernel32-pipes.js';
import type { PipeApi } from './kernel32-pipes.js';
import { win32Failure } from './event-waiter.js';
import type { EventWaiter } from './event-waiter.js';

/** The outcome of one overlapped operation: bytes moved, or the Win32 error it ended with. */
export type PipeIoResult = { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly win32Error: number; readonly bytes: number };

/**
 * One pipe handle opened with `FILE_FLAG_OVERLAPPED`, with its own `OVERLAPPED`, event and native
 * buffer. Operations run one at a time (the proxy pipe is strictly request, reply, request…), so
 * one `OVERLAPPED` and one buffer serve them all. The buffer and the `OVERLAPPED` live in native
 * memory because the kernel writes them after the call that started the operation has returned.
 */
export class OverlappedPipe {
  private readonly overlapped: bigint;
  private readonly event: bigint;
  private readonly buffer: bigint;
  private readonly view: Uint8Array;
  private busy = false;
  private closed = false;

  constructor(
    private readonly api: PipeApi,
    private readonly waiter: EventWaiter,
    readonly handle: bigint,
    readonly capacity: number,
  ) {
    const { koffi } = api;
    this.event = api.CreateEventW(null, 1, 0, null); // manual-reset, as overlapped I/O requires
    if (this.event === 0n) throw win32Failure(api, 'CreateEventW');
    this.overlapped = koffi.address(koffi.alloc('uint8_t', Win32.OVERLAPPED_SIZE));
    this.buffer = koffi.address(koffi.alloc('uint8_t', Math.max(capacity, 1)));
    this.view = new Uint8Array(koffi.view(this.buffer, Math.max(capacity, 1)));
    new Uint8Array(koffi.view(this.overlapped, Win32.OVERLAPPED_SIZE)).fill(0);
  }

  /** Server side: wait for a client (`ConnectNamedPipe`). A client that came first counts as connected. */
  connect(): Promise<PipeIoResult> {
    return this.run((ov) => this.api.ConnectNamedPipe(this.handle, ov), Win32.ERROR_PIPE_CONNECTED);
  }

  /** Reads one message (or the first `capacity` bytes of it: then the result is `ERROR_MORE_DATA`). */
  async read(): Promise<{ result: PipeIoResult; message: Uint8Array }> {
    const result = await this.run((ov) => this.api.ReadFile(this.handle, this.buffer, this.capacity, null, ov));
    return { result, message: this.view.slice(0, result.bytes) };
  }

  /** Writes `message` as one message (an empty one included). */
  write(message: Uint8Array): Promise<PipeIoResult> {
    if (message.length > this.capacity) throw new RangeError(`message of ${message.length} bytes exceeds the ${this.capacity}-byte buffer`);
    this.view.set(message);
    return this.run((ov) => this.api.WriteFile(this.handle, this.buffer, message.length, null, ov));
  }

  /** Bytes of the current message not yet read (after an `ERROR_MORE_DATA` read). */
  leftThisMessage(): number {
    const available = [0];
    const left = [0];
    return this.api.PeekNamedPipe(this.handle, null, 0, null, available, left) !== 0 ? (left[0] ?? 0) : 0;
  }

  /** Cancels the operation in flight, if any; its promise then settles with `ERROR_OPERATION_ABORTED`. */
  cancel(): void {
    if (this.busy) this.api.CancelIoEx(this.handle, this.overlapped);
  }

  /**
   * Cancels what is in flight, waits until the kernel has let go of the buffers, then closes the
   * handle and frees them. Idempotent.
   */
  async close(beforeClose?: () => void): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancel();
    while (this.busy) await this.settled;
    beforeClose?.();
    this.api.CloseHandle(this.handle);
    this.api.CloseHandle(this.event);
    this.api.koffi.free(this.overlapped);
    this.api.koffi.free(this.buffer);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private settled: Promise<unknown> = Promise.resolve();

  /**
   * Waits for the pending operation. Should the waiter itself fail, the operation is cancelled and
   * waited for here (briefly, bWait = TRUE), so the kernel never writes into freed buffers.
   */
  private async untilDone(): Promise<void> {
    try {
      await this.waiter.signalled(this.event);
    } catch (error) {
      this.api.CancelIoEx(this.handle, this.overlapped);
      this.api.GetOverlappedResult(this.handle, this.overlapped, [0], 1);
      throw error;
    }
  }

  private run(start: (overlapped: bigint) => number, alsoDone?: number): Promise<PipeIoResult> {
    if (this.busy) throw new Error('overlapped pipe: one operation at a time');
    if (this.closed) return Promise.resolve({ ok: false, win32Error: Win32.ERROR_INVALID_HANDLE, bytes: 0 });
    // The event is part of the OVERLAPPED; ReadFile/WriteFile/ConnectNamedPipe reset it when they start.
    new DataView(this.api.koffi.view(this.overlapped, Win32.OVERLAPPED_SIZE)).setBigUint64(Win32.OVERLAPPED_EVENT_OFFSET, this.event, true);
    this.busy = true;
    const operation = (async (): Promise<PipeIoResult> => {
      try {
        const started = start(this.overlapped);
        if (started === 0) {
          const error = this.api.GetLastError();
          if (error === alsoDone) return { ok: true, bytes: 0 };
          if (error === Win32.ERROR_IO_PENDING) await this.untilDone();
          // A message longer than the buffer fails at once with ERROR_MORE_DATA; the count comes below.
          else if (error !== Win32.ERROR_MORE_DATA) return { ok: false, win32Error: error, bytes: 0 };
        }
        // Done (at once or after the wait): the result, without blocking (bWait = FALSE).
        const transferred = [0];
        if (this.api.GetOverlappedResult(this.handle, this.overlapped, transferred, 0) === 0) {
          return { ok: false, win32Error: this.api.GetLastError(), bytes: transferred[0] ?? 0 };
        }
        return { ok: true, bytes: transferred[0] ?? 0 };
      } finally {
        this.busy = false;
      }
    })();
    this.settled = operation.catch(() => undefined);
    return operation;
  }
}
