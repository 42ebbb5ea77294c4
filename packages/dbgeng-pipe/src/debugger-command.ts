/**
 * The command line that points a debugger at an endpoint address:
 * - `pipe://./pipe/NAME` → WinDbg over the named pipe, retrying RESETs without limit and
 *   reconnecting after a drop (`resets=0,reconnect`);
 * - `unix:PATH` → radare2's winkd client (it speaks KDCOM over a Unix socket; WinDbg cannot);
 * - `tcp://HOST:PORT` → WinDbg's serial-over-TCP client (`com:ipport`). A wildcard bind is reached
 *   through loopback from this machine.
 */
export function debuggerCommandFor(address: string): string {
  if (address.startsWith('pipe://./pipe/')) {
    return `windbg -k com:pipe,port=\\\\.\\pipe\\${address.slice('pipe://./pipe/'.length)},resets=0,reconnect`;
  }
  if (address.startsWith('unix:')) {
    return `r2 -a x86 -b 64 -D winkd winkd://${address.slice('unix:'.length)}`;
  }
  if (address.startsWith('tcp://')) {
    const url = new URL(address);
    let host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '0.0.0.0') host = '127.0.0.1';
    if (host === '::') host = '::1';
    return `windbg -k com:ipport=${url.port},port=${host}`;
  }
  return address;
}
