import { ByteLinkErrorCode, byteLinkError } from './errors.js';

const PIPE_PREFIX = /^(?:\\\\|\/\/)\.(?:\\|\/)pipe(?:\\|\/)/i;

/**
 * Normalise a Windows named-pipe name to the `\\.\pipe\name` form Node's net module expects.
 * Accepts `\\.\pipe\name`, `//./pipe/name` (the URI spelling) and a bare `name`. Windows forbids a
 * backslash inside the name part; we also refuse `/` there, since it almost always means a typo.
 */
export function toPipePath(nameOrPath: string): string {
  const name = nameOrPath.replace(PIPE_PREFIX, '');
  if (name.length === 0 || name.length > 256 || /[\\/]/.test(name)) {
    throw byteLinkError(ByteLinkErrorCode.BadOptions, `not a named-pipe name: ${JSON.stringify(nameOrPath)}`, {
      details: { path: nameOrPath },
    });
  }
  return `\\\\.\\pipe\\${name}`;
}

/** Named pipes exist only on Windows; elsewhere Node would create a Unix socket with a strange name. */
export function assertPipeSupported(): void {
  if (process.platform !== 'win32') {
    throw byteLinkError(
      ByteLinkErrorCode.UnsupportedPlatform,
      `Windows named pipes are not available on ${process.platform}; use a Unix socket or TCP`,
    );
  }
}

/** The URI spelling of a pipe path: `\\.\pipe\kd` → `pipe://./pipe/kd`. */
export function pipeUri(pipePath: string): string {
  return `pipe://./pipe/${pipePath.replace(PIPE_PREFIX, '')}`;
}
