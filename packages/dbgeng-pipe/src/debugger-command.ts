/** One command line that attaches a KD debugger to an endpoint. */
export interface DebuggerCommand {
  /** Which debugger the line is for. */
  readonly debugger: 'windbg' | 'kd' | 'radare2';
  readonly command: string;
  /** A caveat worth printing next to the line. */
  readonly note?: string;
}

const PIPE_PREFIX = 'pipe://./pipe/';
const R2 = 'r2 -a x86 -b 64 -D winkd';

/**
 * The one table of debugger command lines for a KDCOM endpoint address (the URI a listener
 * reports), used by the endpoint itself, `vmkd route` and the docs:
 * - `pipe://./pipe/NAME` → WinDbg and kd over the named pipe, retrying RESETs without limit and
 *   reconnecting after a drop (`resets=0,reconnect`, Microsoft's documented `-k com:pipe` form);
 *   radare2's winkd client names the pipe the same way on Windows;
 * - `tcp://HOST:PORT` → WinDbg's and kd's serial-over-TCP client (`com:ipport`). A wildcard bind is
 *   reached through loopback from this machine. radare2 has no TCP client: socat bridges;
 * - `unix:PATH` → radare2's winkd client (a Unix-socket client on Linux; WinDbg cannot).
 * Anything else gets no line.
 */
export function debuggerCommandsFor(address: string): DebuggerCommand[] {
  if (address.startsWith(PIPE_PREFIX)) {
    const pipe = `\\\\.\\pipe\\${address.slice(PIPE_PREFIX.length)}`;
    const k = `-k com:pipe,port=${pipe},resets=0,reconnect`;
    return [
      { debugger: 'windbg', command: `windbg ${k}` },
      { debugger: 'kd', command: `kd ${k}` },
      { debugger: 'radare2', command: `${R2} winkd://${pipe}` },
    ];
  }
  if (address.startsWith('unix:')) {
    const path = address.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
    return [{ debugger: 'radare2', command: `${R2} winkd://${path}` }];
  }
  if (address.startsWith('tcp://')) {
    const url = new URL(address);
    let host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '0.0.0.0') host = '127.0.0.1';
    if (host === '::') host = '::1';
    const k = `-k com:ipport=${url.port},port=${host}`;
    return [
      { debugger: 'windbg', command: `windbg ${k}` },
      { debugger: 'kd', command: `kd ${k}` },
      {
        debugger: 'radare2',
        command: `socat UNIX-LISTEN:kd.sock,unlink-early TCP:${host.includes(':') ? `[${host}]` : host}:${url.port} & ${R2} winkd://kd.sock`,
        note: 'radare2 has no TCP client; socat bridges a Unix socket to the endpoint',
      },
    ];
  }
  return [];
}

/** The first line of debuggerCommandsFor(): what to print when there is room for one. */
export function debuggerCommandFor(address: string): string {
  return debuggerCommandsFor(address)[0]?.command ?? address;
}
