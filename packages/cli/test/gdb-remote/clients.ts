import { spawn, spawnSync } from 'node:child_process';

/** Why a client cannot be run here, or undefined when it can (tests skip with this reason). */
export function clientUnavailable(tool: 'gdb' | 'lldb'): string | undefined {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error !== undefined || r.status !== 0) return `${tool} is not installed (CI installs the Debian package ${tool})`;
  return undefined;
}

/** The first gdb that reads memory with binary `x` packets (gdb NEWS, 16.1). */
const BINARY_READS_FROM = 16;

/** One gdb the tests drive: Debian's own (13 on Debian 12), and one ≥ 16 when there is one. */
export interface GdbUnderTest {
  readonly label: string;
  readonly command: string;
  /** Why it cannot run here (tests skip with this), or undefined. */
  readonly missing: string | undefined;
  /** Reads memory with `x` (binary) instead of `m` (hex). */
  readonly binaryReads: boolean;
}

function gdbMajor(command: string): number | undefined {
  const r = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error !== undefined || r.status !== 0) return undefined;
  const m = /^GNU gdb .*?(\d+)\.\d+\S*\s*$/m.exec(r.stdout);
  return m === null ? undefined : Number(m[1]);
}

/**
 * `gdb` on PATH, and the gdb ≥ 16 that VMKD_NEWER_GDB names (`npm test` sets it to the one
 * tools/scripts/newer-gdb.mjs puts in the cache from Debian 13), so the endpoint meets both the
 * hex and the binary read path of a real gdb.
 */
export function gdbsUnderTest(): GdbUnderTest[] {
  const debian = gdbMajor('gdb');
  const newer = process.env.VMKD_NEWER_GDB;
  const newerMajor = newer === undefined ? undefined : gdbMajor(newer);
  let newerMissing: string | undefined;
  if (newer === undefined) newerMissing = 'VMKD_NEWER_GDB is not set (npm test sets up gdb 16 from Debian 13: tools/scripts/newer-gdb.mjs)';
  else if (newerMajor === undefined) newerMissing = `VMKD_NEWER_GDB=${newer} does not run`;
  else if (newerMajor < BINARY_READS_FROM) newerMissing = `VMKD_NEWER_GDB=${newer} is gdb ${newerMajor}, not ${BINARY_READS_FROM} or later`;
  return [
    { label: `gdb ${debian ?? '(missing)'}`, command: 'gdb', missing: clientUnavailable('gdb'), binaryReads: (debian ?? 0) >= BINARY_READS_FROM },
    { label: `gdb ${newerMajor ?? BINARY_READS_FROM}+ (binary reads)`, command: newer ?? 'gdb', missing: newerMissing, binaryReads: true },
  ];
}

export interface ClientRun {
  readonly output: string;
  readonly code: number | null;
}

export interface RunningClient {
  /** Resolves once `pattern` appears in the output so far. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  readonly done: Promise<ClientRun>;
}

function run(command: string, args: readonly string[], timeoutMs: number): RunningClient {
  // TERM=dumb and no pager: gdb's and lldb's batch output stays plain text.
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb', PAGER: 'cat' } });
  let output = '';
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    for (const w of [...watchers]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<ClientRun>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      for (const w of [...watchers]) w();
      resolve({ output, code });
    });
  });
  return {
    done,
    signal: (signal) => child.kill(signal),
    waitFor(pattern, waitMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`${command}: no ${String(pattern)} within ${waitMs} ms; output so far:\n${output}`));
        }, waitMs);
        const check = (): void => {
          if (pattern.test(output)) {
            clearTimeout(timer);
            watchers.delete(check);
            resolve();
          }
        };
        watchers.add(check);
        check();
      });
    },
  };
}

/** gdb (`command`) in batch mode against the endpoint; each entry of `commands` is one `-ex`. */
export function startGdb(port: number, commands: readonly string[], timeoutMs = 120_000, command = 'gdb'): RunningClient {
  const args = ['-batch', '-nx', '-ex', 'set architecture i386:x86-64', '-ex', 'set pagination off', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  return run(command, args, timeoutMs);
}

export function runGdb(port: number, commands: readonly string[], timeoutMs?: number, command?: string): Promise<ClientRun> {
  return startGdb(port, commands, timeoutMs, command).done;
}

/** lldb in batch mode; each entry of `commands` is one `-o` after `gdb-remote`, of `before` one before it. */
export function runLldb(port: number, commands: readonly string[], timeoutMs = 120_000, before: readonly string[] = []): Promise<ClientRun> {
  const args = ['--batch', '--no-lldbinit'];
  for (const c of before) args.push('-o', c);
  args.push('-o', `gdb-remote 127.0.0.1:${port}`);
  for (const c of commands) args.push('-o', c);
  return run('lldb', args, timeoutMs).done;
}

/** The value gdb prints for `p/x $reg` as `$N = 0x…`, in order of appearance. */
export function printedValues(output: string): bigint[] {
  return [...output.matchAll(/^\$\d+ = (0x[0-9a-f]+)$/gm)].map((m) => BigInt(m[1]));
}
