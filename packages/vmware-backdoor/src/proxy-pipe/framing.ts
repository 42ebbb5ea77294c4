import { VmkdError } from '@vmkd/kd-protocol';

/** Error codes of the proxy-pipe server and client. Stable once released. */
export const ProxyPipeErrorCode = {
  /** A frame longer than the 256 KiB proxy-pipe buffers (details: length, limit). */
  TooLarge: 'ERR_PROXYPIPE_MESSAGE_TOO_LARGE',
  /** No dispatcher answered within the forwarder's budget (1000 ms by default). */
  Unavailable: 'ERR_PROXYPIPE_UNAVAILABLE',
  /** The connection closed in the middle of a transaction. */
  Broken: 'ERR_PROXYPIPE_BROKEN',
  /** A Windows pipe path on another OS: the same code and meaning as a `pipe:` byte link there. */
  UnsupportedPlatform: 'ERR_SERIAL_UNSUPPORTED_PLATFORM',
  /** The server could not listen (address in use by a live server, permissions). */
  Listen: 'ERR_PROXYPIPE_LISTEN',
  /** A Win32 call on the message-mode pipe failed unexpectedly (details: call, win32Error). */
  Io: 'ERR_PROXYPIPE_IO',
} as const;

/** The proxy pipe's buffers are 256 KiB each way (virtualkd-kdrpc spec §4.10). */
export const PROXY_PIPE_MAX_MESSAGE = 256 * 1024;

/** VirtualKD's fixed pipe name (Win32 `\\.\pipe\kdvmware_proxypipe`). */
export const KDRPC_PROXY_PIPE_NAME = 'kdvmware_proxypipe';

/** A Win32 pipe path, `\\.\pipe\NAME` (or `\\?\pipe\NAME`). */
export const WINDOWS_PIPE = /^\\\\[.?]\\pipe\\/i;

/** One message on a stream transport: u32 little-endian length, then the bytes (§6.3, project extension). */
export function encodeProxyFrame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + message.length);
  new DataView(out.buffer).setUint32(0, message.length, true);
  out.set(message, 4);
  return out;
}

/**
 * Splits a byte stream into length-prefixed messages, refusing a length above `limit` before
 * buffering anything for it.
 */
export class ProxyFrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(private readonly limit = PROXY_PIPE_MAX_MESSAGE) {}

  /** Feeds bytes; returns the complete messages they finish. Throws ERR_PROXYPIPE_MESSAGE_TOO_LARGE. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < 4) return out;
      const head = this.peek(4);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
      if (length > this.limit) {
        throw new VmkdError(ProxyPipeErrorCode.TooLarge, `proxy pipe: message of ${length} bytes exceeds ${this.limit}`, {
          details: { length, limit: this.limit },
        });
      }
      if (this.buffered < 4 + length) return out;
      const frame = this.take(4 + length);
      out.push(frame.subarray(4));
    }
  }

  private peek(n: number): Uint8Array {
    if (this.chunks[0].length >= n) return this.chunks[0];
    return this.flatten();
  }

  private take(n: number): Uint8Array {
    const all = this.chunks[0].length >= n ? this.chunks[0] : this.flatten();
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return frame;
  }

  private flatten(): Uint8Array {
    const all = new Uint8Array(this.buffered);
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.length;
    }
    this.chunks = [all];
    return all;
  }
}
