import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface GdbRun {
  readonly seconds: number;
  /** gdb's CPU time (user + system) for the dump alone. */
  readonly gdbCpu: number;
}

/**
 * Real gdb attaches to an RSP server on loopback and dumps `size` bytes at `base` into `file`,
 * timing the dump alone with its own clock (Python inside gdb), so start-up and attach are left out.
 * Asynchronous: the server gdb talks to may run in this process. `gdb` is the command to run
 * (gdb 16 and later read memory with binary `x` packets, earlier ones with hex `m`).
 */
export async function gdbDump(port: number, base: bigint, size: number, file: string, gdb = 'gdb'): Promise<GdbRun> {
  const r = await promisify(execFile)(
    gdb,
    [
      '-batch',
      '-nx',
      '-ex',
      'set architecture i386:x86-64',
      '-ex',
      `target remote 127.0.0.1:${port}`,
      '-ex',
      'python import time; vmkd_t0 = time.perf_counter(); vmkd_c0 = time.process_time()',
      '-ex',
      `dump binary memory ${file} 0x${base.toString(16)} 0x${(base + BigInt(size)).toString(16)}`,
      '-ex',
      'python print("vmkd-elapsed %.6f %.6f" % (time.perf_counter() - vmkd_t0, time.process_time() - vmkd_c0))',
      '-ex',
      'kill',
    ],
    { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 24 },
  );
  const m = /vmkd-elapsed ([\d.]+) ([\d.]+)/.exec(`${r.stdout}${r.stderr}`);
  if (m === null) throw new Error(`gdb did not report a time:\n${r.stdout}${r.stderr}`);
  return { seconds: Number(m[1]), gdbCpu: Number(m[2]) };
}
