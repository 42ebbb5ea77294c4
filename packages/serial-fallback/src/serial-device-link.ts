import { Observable, Subject } from 'rxjs';
import type { ByteLink, ByteLinkStats } from '@vmkd/kd-protocol';
import { SerialErrorCode, serialError } from './errors.js';
import { checkPath, linkClosedError, linkDisconnectedError } from '@vmkd/byte-links';
import { loadNativeSerialBinding } from './serial-binding.js';
import type { SerialBindingPort } from './serial-binding.js';
import type { SerialDeviceOptions } from './options.js';

/** One read asks for at most this much; bounds what a single emission can carry. */
const READ_SIZE = 64 * 1024;
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * Open a serial device or pty as a ByteLink, 8N1, no flow control. Reads start on the first
 * subscription to `data$`; one write is in flight at a time, as serialport bindings require.
 */
export async function openSerialByteLink(options: Omit<SerialDeviceOptions, 'kind' | 'pace'>): Promise<ByteLink> {
  const path = checkPath(options.path, 'serial device');
  const baudRate = options.baudRate ?? 115_200;
  if (!Number.isInteger(baudRate) || baudRate <= 0) {
    throw serialError(SerialErrorCode.BadOptions, `bad baud rate: ${String(baudRate)}`, { details: { baudRate } });
  }
  const binding = options.binding ?? (await loadNativeSerialBinding());
  const name = `serial:${path}`;
  let port: SerialBindingPort;
  try {
    port = await binding.open({ path, baudRate, dataBits: 8, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, hupcl: false });
  } catch (error) {
    const { reason, errno } = openFailure(error, path);
    // A device path that does not exist is a typo or an unplugged adapter: no retry fixes it by
    // itself, so it is marked permanent and reconnecting stops instead of trying forever.
    // No `cause`: its text is the reason above again (the CLI would print it twice).
    throw serialError(SerialErrorCode.ConnectFailed, `${name}: cannot open (${reason})`, {
      details: { link: name, ...(errno === undefined ? {} : { errno }), ...(errno === 'ENOENT' ? { permanent: true } : {}) },
    });
  }
  return createSerialPortByteLink(port, name);
}

/**
 * What went wrong opening a device, said once. serialport's native binding reports
 * `Error: No such file or directory, cannot open /dev/x`: the path and "cannot open" are already in
 * our own message, so only the reason is kept, and the errno is recovered from the text when the
 * binding gives no code.
 */
function openFailure(error: unknown, path: string): { reason: string; errno?: string } {
  const raw = error instanceof Error ? error.message : String(error);
  let reason = raw.replace(/^Error:\s*/, '');
  const echo = `, cannot open ${path}`;
  if (reason.endsWith(echo)) reason = reason.slice(0, -echo.length);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return { reason, errno: code };
  if (/no such file or directory/i.test(raw)) return { reason, errno: 'ENOENT' };
  if (/permission denied/i.test(raw)) return { reason, errno: 'EACCES' };
  return { reason };
}

/** Wrap an open serialport binding port as a ByteLink. */
export function createSerialPortByteLink(port: SerialBindingPort, name: string): ByteLink {
  const data = new Subject<Uint8Array>();
  const stats: ByteLinkStats = { bytesIn: 0, bytesOut: 0, chunksIn: 0, chunksOut: 0 };
  let started = false;
  let closed = false;
  let failure: Error | undefined;
  let writeChain: Promise<void> = Promise.resolve();
  let closePromise: Promise<void> | undefined;

  function fail(cause: unknown): void {
    if (closed || failure !== undefined) return;
    failure = linkDisconnectedError(name, cause);
    data.error(failure);
  }

  async function readLoop(): Promise<void> {
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    while (!closed && failure === undefined) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await port.read(buffer, 0, READ_SIZE));
      } catch (error) {
        // A read cut short by our own close() is not a disconnect.
        if (!closed) fail(error);
        return;
      }
      if (bytesRead === 0) {
        // Nothing read but no error: yield so a misbehaving binding cannot spin the event loop.
        await new Promise<void>((resolve) => setTimeout(resolve, 1));
        continue;
      }
      if (closed) return;
      stats.bytesIn += bytesRead;
      stats.chunksIn += 1;
      data.next(Uint8Array.prototype.slice.call(buffer, 0, bytesRead));
    }
  }

  const data$ = new Observable<Uint8Array>((subscriber) => {
    const subscription = data.subscribe(subscriber);
    if (!started) {
      started = true;
      void readLoop();
    }
    return subscription;
  });

  function write(chunk: Uint8Array): Promise<void> {
    if (closed) return Promise.reject(linkClosedError(name));
    if (failure !== undefined) return Promise.reject(failure);
    if (chunk.byteLength === 0) return Promise.resolve();
    stats.bytesOut += chunk.byteLength;
    stats.chunksOut += 1;
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const result = writeChain.then(async () => {
      if (closed) throw linkClosedError(name);
      if (failure !== undefined) throw failure;
      try {
        await port.write(buffer);
      } catch (error) {
        if (closed) throw linkClosedError(name);
        fail(error);
        throw failure ?? linkDisconnectedError(name, error);
      }
    });
    writeChain = result.catch(() => undefined);
    return result;
  }

  function close(): Promise<void> {
    closePromise ??= (async () => {
      closed = true;
      data.complete();
      if (!port.isOpen) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        port.close().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
    })();
    return closePromise;
  }

  return { name, data$, write, close, stats: () => ({ ...stats }) };
}
