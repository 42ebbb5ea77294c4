import type { SchemeUri } from '@vmkd/kd-protocol';
import type { VmkdError } from '@vmkd/kd-protocol';
import { badUriError } from '../errors.js';
import { parseIntegerOption } from './parse-values.js';

/** sun_path holds 108 bytes on Linux including the terminating NUL. */
const MAX_UNIX_PATH_BYTES = 107;

/** `scheme://[host]:port` with the port spelled out, for a clear error before `new URL` says only "Invalid URL". */
const AUTHORITY_PORT = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)(?:[/?#]|$)/;

export function formatSchemes(schemes: readonly string[]): string {
  return schemes.map((s) => `${s}:`).join(', ');
}

/** The scheme of a URI, lower case, or undefined when the text is not a URI at all. */
export function schemeOf(text: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text);
  return match?.[1].toLowerCase();
}

/**
 * Split and check a URI for one position (`guest`, `endpoint`, `listen`, `connect`): the scheme
 * must be one of `allowed`; fragments, user information and repeated query keys are refused.
 * `strip` names query keys handled elsewhere (guest options); they are kept out of `query`.
 */
export function splitUri(text: string, position: string, allowed: readonly string[], strip: ReadonlySet<string> = new Set()): SchemeUri {
  const scheme = schemeOf(text);
  if (scheme === undefined) {
    throw badUriError(text, `not a URI; a ${position} URI starts with one of ${formatSchemes(allowed)}`);
  }
  if (!allowed.includes(scheme)) {
    throw badUriError(text, `unknown ${position} scheme "${scheme}:"; use one of ${formatSchemes(allowed)}`);
  }
  const port = AUTHORITY_PORT.exec(text)?.[1];
  if (port !== undefined && Number(port) > 65_535) {
    throw badUriError(text, `port ${port} is out of range (a TCP port is 1..65535)`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw badUriError(text, error instanceof Error ? error.message : 'malformed');
  }
  if (url.hash !== '') throw badUriError(text, 'a fragment (#…) has no meaning here');
  if (url.username !== '' || url.password !== '') throw badUriError(text, 'user information is not allowed');
  const query = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (query.has(key)) throw badUriError(text, `query parameter "${key}" given twice`);
    if (!strip.has(key)) query.set(key, value);
  }
  return new CheckedUri(text, scheme, url, query);
}

class CheckedUri implements SchemeUri {
  constructor(
    readonly text: string,
    readonly scheme: string,
    readonly url: URL,
    readonly query: ReadonlyMap<string, string>,
  ) {}

  bad(reason: string): VmkdError {
    return badUriError(this.text, reason);
  }

  keys(allowed: readonly string[]): void {
    for (const key of this.query.keys()) {
      if (!allowed.includes(key)) {
        const hint = allowed.length === 0 ? `"${this.scheme}:" takes no query parameters` : `allowed: ${allowed.join(', ')}`;
        throw this.bad(`unknown query parameter "${key}" (${hint})`);
      }
    }
  }

  string(key: string): string | undefined {
    return this.query.get(key);
  }

  choice<T extends string>(key: string, values: readonly T[], fallback: T): T {
    const value = this.query.get(key);
    if (value === undefined) return fallback;
    if (!(values as readonly string[]).includes(value)) throw this.bad(`${key}="${value}" is not one of ${values.join(', ')}`);
    return value as T;
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const value = this.query.get(key);
    if (value === undefined) return fallback;
    try {
      return parseIntegerOption(key, value, min, max);
    } catch (error) {
      throw this.bad(error instanceof Error ? error.message : String(error));
    }
  }

  tcpAddress(options: { readonly allowPortZero?: boolean; readonly defaultPort?: number } = {}): { host: string; port: number } {
    const { url } = this;
    if (url.hostname === '') throw this.bad(`a host is required, e.g. ${this.scheme}://127.0.0.1:5555`);
    if (url.port === '' && options.defaultPort === undefined) throw this.bad(`a port is required, e.g. ${this.scheme}://127.0.0.1:5555`);
    if (url.pathname !== '' && url.pathname !== '/') throw this.bad('a TCP address has no path');
    const port = url.port === '' ? options.defaultPort! : Number(url.port);
    if (port === 0 && options.allowPortZero !== true) throw this.bad('port 0 only makes sense for a listener');
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return { host, port };
  }

  unixPath(): string {
    const { url } = this;
    if (url.host !== '') {
      throw this.bad(`write "${this.scheme}:${url.host}${url.pathname}" (relative) or "${this.scheme}:///absolute/path"`);
    }
    const path = this.decodePath(url.pathname);
    if (path === '' || path === '/') throw this.bad('a socket path is required, e.g. unix:kd.sock');
    if (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES) {
      throw this.bad(`the socket path is longer than ${MAX_UNIX_PATH_BYTES} bytes; use a shorter or relative path`);
    }
    return path;
  }

  pipePath(): string {
    const { url } = this;
    const server = url.hostname;
    if (server === '') throw this.bad('write the pipe as //./pipe/NAME (or //SERVER/pipe/NAME)');
    const path = this.decodePath(url.pathname);
    const match = /^\/pipe\/(.+)$/i.exec(path);
    if (!match) throw this.bad('the path must be /pipe/NAME, e.g. pipe://./pipe/kd_win10');
    const name = match[1].replaceAll('/', '\\');
    return `\\\\${server}\\pipe\\${name}`;
  }

  private decodePath(raw: string): string {
    try {
      return decodeURIComponent(raw);
    } catch {
      throw this.bad('bad percent-encoding in the path');
    }
  }
}
