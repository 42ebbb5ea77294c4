/**
 * The tracer thread (spec §9.3): spawns the tracee, PTRACE_SEIZEs it, and runs the blocking
 * waitpid loop. CPUID traps are answered here (pure, no VMX needed); backdoor traps go to the main
 * thread, where the VMX lives, and this thread blocks in Atomics.wait until the answer is back.
 *
 * This module runs only as a worker entry. It imports node builtins, type-only modules and small
 * pure siblings, and loads koffi through `createRequire` from the path in its workerData, so it can
 * also be bundled into a single eval'd script when the package runs from its TypeScript sources.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { BackdoorRegs } from '../backdoor-port.js';
import type { KoffiModule } from '../native/import-koffi.js';
import { mapExecutablePage } from '../native/exec-page.js';
import { RegisterSlot, stubBytes, SYSV_STUBS } from '../native/stubs.js';
import { emulateCpuid } from './cpuid-emulation.js';
import type { CpuidRegs } from './cpuid-emulation.js';
import { decodeTrap, SIGILL, SIGSEGV } from './decode-trap.js';
import type { DecodedTrap } from './decode-trap.js';
import {
  ARCH_SET_CPUID,
  bindTracerLibc,
  ECHILD,
  EINTR,
  O_CLOEXEC,
  O_RDONLY,
  POSIX_SPAWN_SETPGROUP,
  POSIX_SPAWN_SETSIGDEF,
  POSIX_SPAWN_SETSIGMASK,
  PTRACE,
  Reg,
  SIGCONT,
  SIGKILL,
  SIGSTOP,
  SIGTRAP,
  SYS_ARCH_PRCTL,
  USER_REGS_WORDS,
  WALL,
  WNOTHREAD,
  WUNTRACED,
} from './ptrace-libc.js';
import { emptyHarnessStats, type HarnessStats, type TraceReply, type TraceRequest, type TraceWorkerData, type WorkerMessage } from './trace-protocol.js';

const data = workerData as TraceWorkerData;
const port = parentPort;
if (port === null) throw new Error('trace-worker must run as a worker thread');
const post = (message: WorkerMessage): void => port.postMessage(message);

const koffi = createRequire(data.koffiPath)(data.koffiPath) as KoffiModule;
const libc = bindTracerLibc(koffi);
const flag = new Int32Array(data.flag);
const stats: HarnessStats = emptyHarnessStats();

// ---- the real CPUID, run here in the tracer for the leaves the emulation passes through ----------
const page = mapExecutablePage(koffi, stubBytes(SYSV_STUBS.cpuid), 'linux');
const cpuidStub = koffi.decode(page.address, koffi.proto('void __vmkd_tracer_cpuid(_Inout_ uint32_t *block)')) as (b: Uint32Array) => void;
const cpuidBlock = new Uint32Array(14);
const cpuidCache = new Map<string, CpuidRegs>();
function realCpuid(leaf: number, subleaf: number): CpuidRegs {
  const key = `${leaf}:${subleaf}`;
  const cached = cpuidCache.get(key);
  if (cached) return cached;
  cpuidBlock.fill(0);
  cpuidBlock[RegisterSlot.rax * 2] = leaf;
  cpuidBlock[RegisterSlot.rcx * 2] = subleaf;
  cpuidStub(cpuidBlock);
  const r = { eax: cpuidBlock[0] ?? 0, ebx: cpuidBlock[2] ?? 0, ecx: cpuidBlock[4] ?? 0, edx: cpuidBlock[6] ?? 0 };
  cpuidCache.set(key, r);
  return r;
}

// ---- tracee memory and registers ---------------------------------------------------------------
const regsBuffer = new Uint8Array(USER_REGS_WORDS * 8);
const regs = new BigUint64Array(regsBuffer.buffer);
function getRegs(tid: number): void {
  if (Number(libc.ptraceBuf(PTRACE.GETREGS, tid, 0, regsBuffer)) !== 0) throw new Error(`PTRACE_GETREGS(${tid}) failed: errno ${libc.errno()}`);
}
function setRegs(tid: number): void {
  if (Number(libc.ptraceBuf(PTRACE.SETREGS, tid, 0, regsBuffer)) !== 0) throw new Error(`PTRACE_SETREGS(${tid}) failed: errno ${libc.errno()}`);
}
function lo32(index: number): number {
  return Number((regs[index] ?? 0n) & 0xffffffffn);
}
function readMemory(tid: number, address: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const fd = openSync(`/proc/${tid}/mem`, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, Number(address) + done);
      if (n <= 0) throw new Error(`short read of tracee memory at 0x${address.toString(16)}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
function writeMemory(tid: number, address: bigint, bytes: Uint8Array): void {
  const fd = openSync(`/proc/${tid}/mem`, 'r+');
  try {
    let done = 0;
    while (done < bytes.length) {
      const n = writeSync(fd, bytes, done, bytes.length - done, Number(address) + done);
      if (n <= 0) throw new Error(`short write of tracee memory at 0x${address.toString(16)}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}
function peekCode(tid: number, address: bigint): Uint8Array {
  try {
    return readMemory(tid, address, 3);
  } catch {
    return new Uint8Array(0); // unreadable RIP: certainly not a backdoor instruction
  }
}

// ---- waitpid -------------------------------------------------------------------------------------
const status = new Int32Array(1);
/** waitpid restricted to this thread's tracees and children (__WNOTHREAD), so libuv's children are never reaped here. */
function wait(pid: number, options = WALL | WNOTHREAD): number {
  for (;;) {
    const r = libc.waitpid(pid, status, options);
    if (r >= 0) return r;
    const errno = libc.errno();
    if (errno !== EINTR) return -errno;
  }
}
const stopped = (s: number): boolean => (s & 0xff) === 0x7f;
const stopSignal = (s: number): number => (s >> 8) & 0xff;
const stopEvent = (s: number): number => (s >> 16) & 0xffff;
const exited = (s: number): boolean => (s & 0x7f) === 0;
const termSignal = (s: number): number => s & 0x7f;

function cont(tid: number, signal = 0): void {
  libc.ptrace(PTRACE.CONT, tid, 0, signal); // ESRCH (the tracee died meanwhile) shows up in waitpid
}

// ---- spawning --------------------------------------------------------------------------------------
function spawnStopped(): { pid: number; stdoutFd: number; stderrFd: number } {
  const out = new Int32Array(2);
  const err = new Int32Array(2);
  if (libc.pipe2(out, O_CLOEXEC) !== 0 || libc.pipe2(err, O_CLOEXEC) !== 0) throw new Error(`pipe2 failed: errno ${libc.errno()}`);
  const fa = new Uint8Array(256);
  const attr = new Uint8Array(512);
  const sigset = new Uint8Array(128);
  libc.fileActionsInit(fa);
  libc.fileActionsAddOpen(fa, 0, '/dev/null', O_RDONLY, 0);
  libc.fileActionsAddDup2(fa, out[1] ?? -1, 1);
  libc.fileActionsAddDup2(fa, err[1] ?? -1, 2);
  libc.attrInit(attr);
  // Own process group (so kill() reaches forks too), default dispositions (Node ignores SIGPIPE,
  // and ignored signals survive exec), nothing blocked.
  libc.attrSetFlags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  libc.attrSetPgroup(attr, 0);
  libc.sigfillset(sigset);
  libc.attrSetSigdefault(attr, sigset);
  libc.sigemptyset(sigset);
  libc.attrSetSigmask(attr, sigset);
  // The shell stops itself before exec, so the tracer is attached before the program's first instruction.
  const argv = ['/bin/sh', '-c', 'kill -STOP $$; exec "$0" "$@"', data.command, ...data.args, null];
  const pidOut = new Int32Array(1);
  const rc = libc.posixSpawnp(pidOut, '/bin/sh', fa, attr, argv, [...data.env, null]);
  libc.fileActionsDestroy(fa);
  libc.attrDestroy(attr);
  libc.close(out[1] ?? -1);
  libc.close(err[1] ?? -1);
  if (rc !== 0) throw new Error(`posix_spawn failed: error ${rc}`);
  return { pid: pidOut[0] ?? 0, stdoutFd: out[0] ?? -1, stderrFd: err[0] ?? -1 };
}

// ---- CPUID faulting: inject arch_prctl(ARCH_SET_CPUID, 0) into a tracee stopped at exec -----------
/** Single-steps `tid` once; true when it stopped with SIGTRAP again. */
function step(tid: number): boolean {
  return Number(libc.ptrace(PTRACE.SINGLESTEP, tid, 0, 0)) === 0 && wait(tid) === tid && stopped(status[0] ?? 0) && stopSignal(status[0] ?? 0) === SIGTRAP;
}

/**
 * CPUID faulting is reset by execve, so it is switched on again inside each freshly exec'd image
 * before its first instruction: write `syscall` at RIP, load arch_prctl's registers, single-step,
 * then restore the bytes and the registers.
 */
function enableCpuidFaulting(tid: number): boolean {
  // The exec stop sits in execve's return path; the first single-step only finishes that syscall
  // (it reports a trap with RIP unchanged and writes execve's return value into RAX).
  if (!step(tid)) return false;
  getRegs(tid);
  const saved = regs.slice();
  const rip = regs[Reg.rip] ?? 0n;
  const original = readMemory(tid, rip, 2);
  writeMemory(tid, rip, Uint8Array.of(0x0f, 0x05)); // syscall
  regs[Reg.rax] = BigInt(SYS_ARCH_PRCTL);
  regs[Reg.origRax] = 0xffffffffffffffffn;
  regs[Reg.rdi] = BigInt(ARCH_SET_CPUID);
  regs[Reg.rsi] = 0n;
  setRegs(tid);
  let ok = false;
  if (step(tid)) {
    getRegs(tid);
    ok = regs[Reg.rip] === rip + 2n && regs[Reg.rax] === 0n;
  }
  writeMemory(tid, rip, original);
  regs.set(saved);
  setRegs(tid);
  return ok;
}

// ---- asking the VMX on the main thread -------------------------------------------------------------
function ask(request: TraceRequest): TraceReply {
  Atomics.store(flag, 0, 0);
  post({ type: 'trap', request, stats: { ...stats } });
  const deadline = Date.now() + data.callTimeoutMs;
  while (Atomics.load(flag, 0) === 0) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`the VMX did not answer a ${request.type} call within ${data.callTimeoutMs} ms`);
    Atomics.wait(flag, 0, 0, Math.min(left, 1000));
  }
  const message = receiveMessageOnPort(data.replyPort);
  if (message === undefined) throw new Error('the VMX answer flag was set without an answer');
  return message.message as TraceReply;
}

function regsIn(): BackdoorRegs {
  return { eax: lo32(Reg.rax), ebx: lo32(Reg.rbx), ecx: lo32(Reg.rcx), edx: lo32(Reg.rdx), esi: lo32(Reg.rsi), edi: lo32(Reg.rdi), ebp: lo32(Reg.rbp) };
}

/** Writes a VMX result back; registers the VMX left unchanged keep their full 64-bit value. */
function applyRegs(before: BackdoorRegs, after: BackdoorRegs): void {
  regs[Reg.rax] = BigInt(after.eax >>> 0); // IN EAX,DX zero-extends RAX
  const keep = (index: number, old: number, value: number | undefined): void => {
    if (value !== undefined && value >>> 0 !== old >>> 0) regs[index] = BigInt(value >>> 0);
  };
  keep(Reg.rbx, before.ebx, after.ebx);
  keep(Reg.rcx, before.ecx, after.ecx);
  keep(Reg.rdx, before.edx, after.edx);
  keep(Reg.rsi, before.esi, after.esi);
  keep(Reg.rdi, before.edi, after.edi);
  keep(Reg.rbp, before.ebp ?? 0, after.ebp);
}

function emulateBackdoor(tid: number, trap: DecodedTrap): void {
  const before = regsIn();
  const failed = (): void => {
    stats.vmxErrors += 1;
    regs[Reg.rax] = 0xffffffffn;
  };
  stats.backdoorCalls += 1;
  if (trap.kind === 'lb') {
    const reply = ask({ type: 'lb', regs: before });
    if ('error' in reply) failed();
    else applyRegs(before, reply.regs);
    return;
  }
  const count = Number(regs[Reg.rcx] ?? 0n);
  if (count > data.maxHbBytes) {
    failed();
    return;
  }
  if (trap.kind === 'hb-out') {
    const source = regs[Reg.rsi] ?? 0n;
    const bytes = readMemory(tid, source, count);
    stats.hbOutBytes += count;
    const reply = ask({ type: 'hb-out', regs: before, data: bytes });
    if ('error' in reply) return failed();
    applyRegs(before, reply.regs);
    regs[Reg.rcx] = 0n;
    regs[Reg.rsi] = source + BigInt(count);
  } else {
    const destination = regs[Reg.rdi] ?? 0n;
    const reply = ask({ type: 'hb-in', regs: before, length: count });
    if ('error' in reply) return failed();
    const bytes = (reply.data ?? new Uint8Array(0)).subarray(0, count);
    writeMemory(tid, destination, bytes);
    stats.hbInBytes += bytes.length;
    applyRegs(before, reply.regs);
    regs[Reg.rcx] = 0n;
    regs[Reg.rdi] = destination + BigInt(count);
  }
}

function emulateCpuidTrap(): void {
  const r = emulateCpuid(lo32(Reg.rax), lo32(Reg.rcx), realCpuid, data.cpuid);
  regs[Reg.rax] = BigInt(r.eax >>> 0);
  regs[Reg.rbx] = BigInt(r.ebx >>> 0);
  regs[Reg.rcx] = BigInt(r.ecx >>> 0);
  regs[Reg.rdx] = BigInt(r.edx >>> 0);
  stats.cpuidEmulated += 1;
}

/** A SIGSEGV/SIGILL stop: emulate it if it is ours, otherwise hand the signal back. */
function handleFault(tid: number, signal: number): void {
  const siginfo = new Uint8Array(128);
  libc.ptraceBuf(PTRACE.GETSIGINFO, tid, 0, siginfo);
  const siCode = new DataView(siginfo.buffer).getInt32(8, true);
  getRegs(tid);
  const rip = regs[Reg.rip] ?? 0n;
  const trap = decodeTrap(signal, siCode, peekCode(tid, rip), lo32(Reg.rax), lo32(Reg.rdx));
  if (trap === undefined || (trap.kind === 'cpuid' && !stats.cpuidFaulting)) {
    stats.signalsForwarded += 1;
    cont(tid, signal);
    return;
  }
  if (trap.kind === 'cpuid') emulateCpuidTrap();
  else emulateBackdoor(tid, trap);
  regs[Reg.rip] = rip + BigInt(trap.length);
  setRegs(tid);
  cont(tid, 0);
}

// ---- the loop --------------------------------------------------------------------------------------
function main(): void {
  const spawned = spawnStopped();
  const root = spawned.pid;
  post({ type: 'spawned', ...spawned });
  // Wait (as its parent) for the shell to stop itself, then attach and let it go.
  if (wait(root, WUNTRACED | WNOTHREAD) !== root || !stopped(status[0] ?? 0)) {
    const s = status[0] ?? 0;
    post({ type: 'exit', pid: root, code: exited(s) ? (s >> 8) & 0xff : null, signal: exited(s) ? null : termSignal(s) });
    return;
  }
  const options = PTRACE.O_TRACECLONE | PTRACE.O_TRACEFORK | PTRACE.O_TRACEVFORK | PTRACE.O_TRACEEXEC | PTRACE.O_EXITKILL;
  if (Number(libc.ptrace(PTRACE.SEIZE, root, 0, options)) !== 0) {
    const errno = libc.errno();
    libc.kill(-root, SIGKILL);
    throw new Error(`PTRACE_SEIZE failed: errno ${errno} (ptrace needs root or Yama ptrace_scope <= 1)`);
  }
  stats.processes = 1;
  libc.kill(root, SIGCONT);
  let faultingTried = false;
  for (;;) {
    const tid = wait(-1);
    if (tid === -ECHILD) break;
    if (tid < 0) throw new Error(`waitpid failed: errno ${-tid}`);
    const s = status[0] ?? 0;
    if (!stopped(s)) {
      if (tid === root) post({ type: 'exit', pid: root, code: exited(s) ? (s >> 8) & 0xff : null, signal: exited(s) ? null : termSignal(s) });
      continue;
    }
    const signal = stopSignal(s);
    const event = stopEvent(s);
    try {
      if (event === PTRACE.EVENT_EXEC) {
        const ok = enableCpuidFaulting(tid);
        if (!faultingTried || ok) stats.cpuidFaulting = ok;
        faultingTried = true;
        cont(tid, 0);
      } else if (event === PTRACE.EVENT_FORK || event === PTRACE.EVENT_VFORK) {
        const message = new BigUint64Array(1);
        libc.ptraceBuf(PTRACE.GETEVENTMSG, tid, 0, new Uint8Array(message.buffer));
        stats.processes += 1;
        post({ type: 'process', pid: Number(message[0] ?? 0n) });
        cont(tid, 0);
      } else if (event !== 0) {
        cont(tid, 0); // clone, vfork-done, and PTRACE_EVENT_STOP (new tracees, group stops: job control is not kept)
      } else if (signal === SIGSEGV || signal === SIGILL) {
        handleFault(tid, signal);
      } else if (signal === SIGTRAP || signal === SIGSTOP) {
        cont(tid, signal === SIGSTOP ? 0 : signal);
      } else {
        stats.signalsForwarded += 1;
        cont(tid, signal);
      }
    } catch (error) {
      // A tracee that vanished mid-emulation (killed) makes ptrace/proc calls fail: keep serving the others.
      if (error instanceof Error && /VMX did not answer/.test(error.message)) {
        libc.kill(-root, SIGKILL);
        post({ type: 'failed', message: error.message, stats: { ...stats } });
      }
      cont(tid, 0);
    }
  }
  post({ type: 'done', stats: { ...stats } });
}

try {
  main();
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error), stats: { ...stats } });
}
