/**
 * What a user types in each RSP client to reach a `gdb://HOST:PORT` endpoint; `vmkd route` prints
 * these. gdb needs the architecture before it connects (there is no executable to take it from);
 * lldb's `gdb-remote` reads it from target.xml; IDA's and Ghidra's remote-GDB debuggers take host,
 * port and the x86-64 target.
 */
export interface GdbConnectionHints {
  readonly gdb: string;
  readonly lldb: string;
  readonly ida: string;
  readonly ghidra: string;
}

export function gdbConnectionHints(host: string, port: number): GdbConnectionHints {
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return {
    gdb: `gdb -nx -ex 'set architecture i386:x86-64' -ex 'target remote ${where}'`,
    lldb: `lldb -o 'gdb-remote ${where}'`,
    ida: `IDA: Debugger > Attach > Remote GDB debugger, hostname ${host}, port ${port}, x86-64`,
    ghidra: `Ghidra: Debugger > Connect > gdb, then: set architecture i386:x86-64; target remote ${where}`,
  };
}
