import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { MessageChannel } from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import { constants as osConstants } from 'node:os';
import { VmkdError } from '@vmkd/kd-protocol';
import type { BackdoorPort } from '../backdoor-port.js';
import type { HarnessCpuidOptions } from './cpuid-emulation.js';
import { HarnessErrorCode } from './errors.js';
import { emptyHarnessStats, type HarnessStats, type TraceReply, type TraceRequest, type TraceWorkerData, type WorkerMessage } from './trace-protocol.js';
import { startTraceWorker } from './worker-source.js';

export interface HarnessOptions {
  /** Program to run (looked up in PATH) and its arguments. Any x86-64 Linux program. */
  readonly command: string;
  readonly args?: readonly string[];
  /** Environment of the program; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** The VMX that answers the program's backdoor calls (an emulated VMX, or any BackdoorPort). */
  readonly vmx: BackdoorPort;
  /** What CPUID tells the program; default: VMware, I/O-port backdoor. */
  readonly cpuid?: HarnessCpuidOptions;
  readonly onStdout?: (chunk: Buffer) => void;
  readonly onStderr?: (chunk: Buffer) => void;
  /** The whole run is killed (SIGKILL to its process group) after this long; default 120 s. */
  readonly timeoutMs?: number;
  /** Longest wait for one VMX answer before the program is killed; default 30 s. */
  readonly callTimeoutMs?: number;
  /** Largest HB transfer emulated (RCX); larger ones fail with EAX = 0xFFFFFFFF; default 16 MiB. */
  readonly maxHbBytes?: number;
}

export interface HarnessExit {
  /** Exit code of the program, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the harness ended the run itself. */
  readonly reason?: 'timeout' | 'killed' | 'vmx-timeout';
}

export interface HarnessRun {
  /** Process id of the traced program (the same process first runs a tiny /bin/sh stub that execs it). */
  readonly pid: number;
  /** Resolves when the program and everything it forked have ended and their output is read. Rejects with ERR_HARNESS_TRACER_FAILED if the tracer broke. */
  readonly exited: Promise<HarnessExit>;
  /** Live counters (updated with every trap the main thread sees, final after `exited`). */
  readonly stats: Readonly<HarnessStats>;
  /** SIGKILL the program and its forks. */
  kill(): void;
}


/**
 * Runs a program under the ptrace trap-and-emulate harness (spec §9.3): every backdoor instruction
 * it executes (IN/OUT, REP OUTSB/INSB, VMCALL/VMMCALL with the magic) is answered by `vmx`, and every
 * CPUID by a VMware-looking CPU (through CPUID faulting). Linux x86-64 only; needs ptrace rights
 * (root, or Yama ptrace_scope <= 1).
 */
export async function runUnderHarness(options: HarnessOptions): Promise<HarnessRun> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new VmkdError(HarnessErrorCode.UnsupportedPlatform, `the ptrace harness needs x86-64 Linux, not ${process.platform}/${process.arch}`);
  }
  const vmx: BackdoorPort | undefined = options.vmx;
  if (typeof options.command !== 'string' || options.command.length === 0 || typeof vmx?.call !== 'function' || typeof vmx.hbOut !== 'function' || typeof vmx.hbIn !== 'function') {
    throw new VmkdError(HarnessErrorCode.BadOptions, 'runUnderHarness needs a command and a vmx with call, hbOut and hbIn');
  }
  const flag = new SharedArrayBuffer(4);
  const flagView = new Int32Array(flag);
  const { port1: replyPort, port2: workerReplyPort } = new MessageChannel();
  const env = Object.entries(options.env ?? process.env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${value}`);
  const workerData: TraceWorkerData = {
    command: options.command,
    args: [...(options.args ?? [])],
    env,
    cpuid: options.cpuid ?? {},
    koffiPath: createRequire(import.meta.url).resolve('koffi'),
    flag,
    replyPort: workerReplyPort,
    callTimeoutMs: options.callTimeoutMs ?? 30_000,
    maxHbBytes: options.maxHbBytes ?? 16 * 1024 * 1024,
  };
  let worker: Worker;
  try {
    worker = await startTraceWorker({ workerData, transferList: [workerReplyPort] });
  } catch (cause) {
    throw new VmkdError(HarnessErrorCode.TracerFailed, 'cannot start the tracer worker', { cause });
  }

  let stats = emptyHarnessStats();
  const pids = new Set<number>();
  let reason: HarnessExit['reason'];
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let failure: string | undefined;
  const streams: Promise<void>[] = [];
  const killAll = (): void => {
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGKILL'); // the process group the tracee leads
      } catch {
        /* already gone */
      }
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  const answer = (reply: TraceReply): void => {
    replyPort.postMessage(reply);
    Atomics.store(flagView, 0, 1);
    Atomics.notify(flagView, 0);
  };
  const serve = async (request: TraceRequest): Promise<TraceReply> => {
    try {
      if (request.type === 'lb') return { regs: await vmx.call(request.regs) };
      if (request.type === 'hb-out') return { regs: await vmx.hbOut(request.regs, request.data) };
      const { regs, data } = await vmx.hbIn(request.regs, request.length);
      return { regs, data };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  };
  const signalName = (n: number | null): NodeJS.Signals | null =>
    n === null ? null : ((Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined) ?? null);

  const pid = await new Promise<number>((resolve, reject) => {
    const onEarlyError = (error: Error): void => reject(new VmkdError(HarnessErrorCode.TracerFailed, 'the tracer worker failed to start', { cause: error }));
    worker.once('error', onEarlyError);
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'spawned': {
          pids.add(message.pid);
          for (const [fd, sink] of [[message.stdoutFd, options.onStdout], [message.stderrFd, options.onStderr]] as const) {
            const socket = new Socket({ fd, readable: true, writable: false });
            if (sink) socket.on('data', sink);
            else socket.resume();
            streams.push(new Promise<void>((done) => socket.once('close', () => done())));
            socket.on('error', () => undefined);
          }
          worker.off('error', onEarlyError);
          resolve(message.pid);
          break;
        }
        case 'process':
          pids.add(message.pid);
          break;
        case 'trap':
          stats = message.stats;
          void serve(message.request).then(answer);
          break;
        case 'exit':
          exit = { code: message.code, signal: signalName(message.signal) };
          break;
        case 'done':
          stats = message.stats;
          break;
        case 'failed':
          stats = message.stats;
          failure = message.message;
          if (/VMX did not answer/.test(message.message)) reason = 'vmx-timeout';
          if (exit === undefined) reject(new VmkdError(HarnessErrorCode.TracerFailed, message.message));
          break;
      }
    });
  });

  const timer = setTimeout(() => {
    reason = 'timeout';
    killAll();
  }, options.timeoutMs ?? 120_000);
  const exited = new Promise<HarnessExit>((resolve, reject) => {
    worker.once('error', (error) => {
      killAll();
      failure = error.message;
    });
    worker.once('exit', () => {
      clearTimeout(timer);
      replyPort.close();
      // Output pipes close once the last process holding them is gone; bound the wait anyway.
      const bounded = Promise.race([Promise.all(streams), new Promise((r) => setTimeout(r, 2000).unref())]);
      void bounded.then(() => {
        if (exit === undefined || (failure !== undefined && reason !== 'vmx-timeout')) {
          reject(new VmkdError(HarnessErrorCode.TracerFailed, failure ?? 'the tracer ended without an exit status', { details: { pid } }));
        } else if (reason === 'vmx-timeout') {
          reject(new VmkdError(HarnessErrorCode.VmxTimeout, failure ?? 'the VMX did not answer in time', { details: { pid } }));
        } else {
          resolve({ ...exit, ...(reason === undefined ? {} : { reason }) });
        }
      });
    });
  });
  exited.catch(() => undefined); // callers may never await it; the rejection is still delivered to those who do

  return {
    pid,
    exited,
    get stats() {
      return stats;
    },
    kill() {
      reason ??= 'killed';
      killAll();
    },
  };
}
