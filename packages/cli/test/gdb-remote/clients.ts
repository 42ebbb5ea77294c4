import { spawn, spawnSync } from 'node:child_process';

/** Why a client cannot be run here, or undefined when it can (tests skip with this reason). */
export function clientUnavailable(tool: 'gdb' | 'lldb'): string | undefined {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error !== undefined || r.status !== 0) return `${tool} is not installed (CI installs the Debian package ${tool})`;
  return undefined;
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

/** gdb in batch mode against the endpoint; each entry of `commands` is one `-ex`. */
export function startGdb(port: number, commands: readonly string[], timeoutMs = 120_000): RunningClient {
  const args = ['-batch', '-nx', '-ex', 'set architecture i386:x86-64', '-ex', 'set pagination off', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  return run('gdb', args, timeoutMs);
}

export function runGdb(port: number, commands: readonly string[], timeoutMs?: number): Promise<ClientRun> {
  return startGdb(port, commands, timeoutMs).done;
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
