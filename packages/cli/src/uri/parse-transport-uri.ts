import { badUriError } from '../errors.js';
import { SIM_BUILD_CHOICES } from '../sim/sim-backend.js';
import { parseByteSize, parseIntegerOption } from './parse-values.js';
import {
  DEFAULT_SERIAL_BAUD,
  DEFAULT_SIM_OPTIONS,
  type ConnectSpec,
  type EndpointSpec,
  type GuestSpec,
  type ListenSpec,
  type SerialDeviceAddress,
  type SimBuild,
  type SimOptions,
  type SocketAddress,
} from './transport-uri.js';

/** The schemes each position accepts, for error messages and `vmkd doctor`. */
export const GUEST_SCHEMES = ['serial+tcp', 'serial+unix', 'serial+pipe', 'serial', 'kdrpc+proxypipe', 'kdrpc+proxyunix', 'sim'] as const;
export const ENDPOINT_SCHEMES = ['pipe', 'unix', 'tcp'] as const;
export const LISTEN_SCHEMES = ['tcp', 'unix', 'pipe'] as const;
export const CONNECT_SCHEMES = ['tcp', 'unix', 'pipe', 'serial'] as const;

/** sun_path holds 108 bytes on Linux including the terminating NUL. */
const MAX_UNIX_PATH_BYTES = 107;
const MAX_BAUD = 10_000_000;

interface Parsed {
  readonly text: string;
  readonly scheme: string;
  readonly url: URL;
  readonly query: Map<string, string>;
}

function splitUri(text: string, position: string, allowed: readonly string[]): Parsed {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text);
  if (!match) {
    throw badUriError(text, `not a URI; a ${position} URI starts with one of ${formatSchemes(allowed)}`);
  }
  const scheme = match[1].toLowerCase();
  if (!allowed.includes(scheme)) {
    throw badUriError(text, `unknown ${position} scheme "${scheme}:"; use one of ${formatSchemes(allowed)}`);
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
    query.set(key, value);
  }
  return { text, scheme, url, query };
}

function formatSchemes(schemes: readonly string[]): string {
  return schemes.map((s) => `${s}:`).join(', ');
}

function checkQueryKeys(parsed: Parsed, allowed: readonly string[]): void {
  for (const key of parsed.query.keys()) {
    if (!allowed.includes(key)) {
      const hint = allowed.length === 0 ? `"${parsed.scheme}:" takes no query parameters` : `allowed: ${allowed.join(', ')}`;
      throw badUriError(parsed.text, `unknown query parameter "${key}" (${hint})`);
    }
  }
}

function choice<T extends string>(parsed: Parsed, key: string, values: readonly T[], fallback: T): T {
  const value = parsed.query.get(key);
  if (value === undefined) return fallback;
  if (!(values as readonly string[]).includes(value)) {
    throw badUriError(parsed.text, `${key}="${value}" is not one of ${values.join(', ')}`);
  }
  return value as T;
}

function integer(parsed: Parsed, key: string, fallback: number, min: number, max: number): number {
  const value = parsed.query.get(key);
  if (value === undefined) return fallback;
  try {
    return parseIntegerOption(key, value, min, max);
  } catch (error) {
    throw badUriError(parsed.text, error instanceof Error ? error.message : String(error));
  }
}

function decodePath(parsed: Parsed, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badUriError(parsed.text, 'bad percent-encoding in the path');
  }
}

function tcpAddress(parsed: Parsed, allowPortZero: boolean): SocketAddress {
  const { url } = parsed;
  if (url.hostname === '') throw badUriError(parsed.text, 'a host is required, e.g. tcp://127.0.0.1:5555');
  if (url.port === '') throw badUriError(parsed.text, 'a port is required, e.g. tcp://127.0.0.1:5555');
  if (url.pathname !== '' && url.pathname !== '/') throw badUriError(parsed.text, 'a TCP address has no path');
  const port = Number(url.port);
  if (port === 0 && !allowPortZero) throw badUriError(parsed.text, 'port 0 only makes sense for a listener');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { kind: 'tcp', host, port };
}

function unixAddress(parsed: Parsed): SocketAddress {
  const { url } = parsed;
  if (url.host !== '') {
    throw badUriError(parsed.text, `write "${parsed.scheme}:${url.host}${url.pathname}" (relative) or "${parsed.scheme}:///absolute/path"`);
  }
  const path = decodePath(parsed, url.pathname);
  if (path === '' || path === '/') throw badUriError(parsed.text, 'a socket path is required, e.g. unix:kd.sock');
  if (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES) {
    throw badUriError(parsed.text, `the socket path is longer than ${MAX_UNIX_PATH_BYTES} bytes; use a shorter or relative path`);
  }
  return { kind: 'unix', path };
}

function pipeAddress(parsed: Parsed): SocketAddress {
  const { url } = parsed;
  const server = url.hostname;
  if (server === '') throw badUriError(parsed.text, 'write the pipe as //./pipe/NAME (or //SERVER/pipe/NAME)');
  const path = decodePath(parsed, url.pathname);
  const match = /^\/pipe\/(.+)$/i.exec(path);
  if (!match) throw badUriError(parsed.text, 'the path must be /pipe/NAME, e.g. pipe://./pipe/kd_win10');
  const name = match[1].replaceAll('/', '\\');
  return { kind: 'pipe', path: `\\\\${server}\\pipe\\${name}` };
}

function serialDevice(parsed: Parsed): SerialDeviceAddress {
  const { url } = parsed;
  if (url.host !== '') {
    throw badUriError(parsed.text, 'write serial:///dev/ttyS0 (three slashes) or serial:COM1');
  }
  const path = decodePath(parsed, url.pathname);
  if (path === '' || path === '/') throw badUriError(parsed.text, 'a device path is required, e.g. serial:///dev/ttyS0');
  const baud = integer(parsed, 'baud', DEFAULT_SERIAL_BAUD, 50, MAX_BAUD);
  return { kind: 'serial', path, baud };
}

function socketAddress(parsed: Parsed, kind: 'tcp' | 'unix' | 'pipe', allowPortZero: boolean): SocketAddress {
  switch (kind) {
    case 'tcp':
      return tcpAddress(parsed, allowPortZero);
    case 'unix':
      return unixAddress(parsed);
    case 'pipe':
      return pipeAddress(parsed);
  }
}

function simOptions(parsed: Parsed): SimOptions {
  const build = choice<SimBuild>(parsed, 'build', SIM_BUILD_CHOICES, DEFAULT_SIM_OPTIONS.build);
  const cpus = integer(parsed, 'cpus', DEFAULT_SIM_OPTIONS.cpus, 1, 64);
  const memoryText = parsed.query.get('memory');
  let memory = DEFAULT_SIM_OPTIONS.memory;
  if (memoryText !== undefined) {
    try {
      memory = parseByteSize('memory', memoryText);
    } catch (error) {
      throw badUriError(parsed.text, error instanceof Error ? error.message : String(error));
    }
  }
  return { build, memory, cpus };
}

/**
 * Parses where the guest's debug traffic comes from:
 * `serial+tcp://HOST:PORT`, `serial+unix:PATH`, `serial+pipe://./pipe/NAME` (each `?mode=connect|listen&pace=BAUD`),
 * `serial:///dev/ttyS0?baud=N`, `kdrpc+proxypipe://./pipe/NAME`, `kdrpc+proxyunix:PATH`,
 * `sim://?via=serial|kdrpc&baud=N&backdoor=inprocess|native&build=win7|win10&memory=256M&cpus=N`.
 */
export function parseGuestUri(text: string): GuestSpec {
  const parsed = splitUri(text, 'guest', GUEST_SCHEMES);
  switch (parsed.scheme) {
    case 'serial+tcp':
    case 'serial+unix':
    case 'serial+pipe': {
      checkQueryKeys(parsed, ['mode', 'pace']);
      const kind = parsed.scheme.slice('serial+'.length) as 'tcp' | 'unix' | 'pipe';
      const mode = choice(parsed, 'mode', ['connect', 'listen'] as const, 'connect');
      const address = socketAddress(parsed, kind, mode === 'listen');
      const pace = integer(parsed, 'pace', 0, 0, MAX_BAUD);
      return { kind: 'serial', uri: text, address, mode, pace };
    }
    case 'serial':
      checkQueryKeys(parsed, ['baud']);
      return { kind: 'serial-device', uri: text, address: serialDevice(parsed) };
    case 'kdrpc+proxypipe':
      checkQueryKeys(parsed, []);
      return { kind: 'kdrpc-proxy', uri: text, address: pipeAddress(parsed) };
    case 'kdrpc+proxyunix':
      checkQueryKeys(parsed, []);
      return { kind: 'kdrpc-proxy', uri: text, address: unixAddress(parsed) };
    default:
      return parseSimUri(parsed);
  }
}

function parseSimUri(parsed: Parsed): GuestSpec {
  const { url } = parsed;
  if (url.host !== '' || (url.pathname !== '' && url.pathname !== '/')) {
    throw badUriError(parsed.text, 'sim: takes only a query, e.g. sim://?via=serial&baud=115200');
  }
  checkQueryKeys(parsed, ['via', 'baud', 'backdoor', 'build', 'memory', 'cpus']);
  const via = choice(parsed, 'via', ['serial', 'kdrpc'] as const, 'serial');
  if (via === 'serial' && parsed.query.has('backdoor')) {
    throw badUriError(parsed.text, 'backdoor= applies only to via=kdrpc');
  }
  if (via === 'kdrpc' && parsed.query.has('baud')) {
    throw badUriError(parsed.text, 'baud= applies only to via=serial (KDRPC has no line rate)');
  }
  const baud = integer(parsed, 'baud', DEFAULT_SERIAL_BAUD, 0, MAX_BAUD);
  const backdoor = choice(parsed, 'backdoor', ['inprocess', 'native'] as const, 'inprocess');
  return { kind: 'sim', uri: parsed.text, via, baud, backdoor, sim: simOptions(parsed) };
}

/** Parses where debuggers attach: `pipe://./pipe/NAME`, `unix:PATH`, `tcp://HOST:PORT` (port 0 = pick one). */
export function parseEndpointUri(text: string): EndpointSpec {
  const parsed = splitUri(text, 'endpoint', ENDPOINT_SCHEMES);
  checkQueryKeys(parsed, []);
  return { uri: text, address: socketAddress(parsed, parsed.scheme as 'tcp' | 'unix' | 'pipe', true) };
}

/** Parses a byte-link listener for `vmkd sim --listen`: `tcp://HOST:PORT`, `unix:PATH`, `pipe://./pipe/NAME`. */
export function parseListenUri(text: string): ListenSpec {
  const parsed = splitUri(text, 'listen', LISTEN_SCHEMES);
  checkQueryKeys(parsed, []);
  return { uri: text, address: socketAddress(parsed, parsed.scheme as 'tcp' | 'unix' | 'pipe', true) };
}

/** Parses a byte link to open as a client or device for `vmkd sim --connect`. */
export function parseConnectUri(text: string): ConnectSpec {
  const parsed = splitUri(text, 'connect', CONNECT_SCHEMES);
  if (parsed.scheme === 'serial') {
    checkQueryKeys(parsed, ['baud']);
    return { uri: text, address: serialDevice(parsed) };
  }
  checkQueryKeys(parsed, []);
  return { uri: text, address: socketAddress(parsed, parsed.scheme as 'tcp' | 'unix' | 'pipe', false) };
}

/** Formats a socket address back into vmkd's URI form (used for resolved ephemeral ports). */
export function formatSocketAddress(address: SocketAddress): string {
  switch (address.kind) {
    case 'tcp':
      return `tcp://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    case 'unix':
      return `unix:${address.path.startsWith('/') ? `//${address.path}` : address.path}`;
    case 'pipe': {
      const match = /^\\\\([^\\]+)\\pipe\\(.+)$/i.exec(address.path);
      return match ? `pipe://${match[1]}/pipe/${match[2].replaceAll('\\', '/')}` : `pipe:${address.path}`;
    }
  }
}
