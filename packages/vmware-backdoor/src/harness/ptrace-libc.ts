import type { KoffiModule } from '../native/import-koffi.js';

/** Linux x86-64 constants for the tracer (ptrace(2), wait(2), posix_spawn(3)). */
export const PTRACE = {
  CONT: 7,
  SINGLESTEP: 9,
  GETREGS: 12,
  SETREGS: 13,
  GETEVENTMSG: 0x4201,
  GETSIGINFO: 0x4202,
  SEIZE: 0x4206,
  O_TRACEFORK: 0x2,
  O_TRACEVFORK: 0x4,
  O_TRACECLONE: 0x8,
  O_TRACEEXEC: 0x10,
  O_EXITKILL: 0x100000,
  EVENT_FORK: 1,
  EVENT_VFORK: 2,
  EVENT_CLONE: 3,
  EVENT_EXEC: 4,
  EVENT_STOP: 128,
} as const;
export const WUNTRACED = 2;
export const WALL = 0x40000000;
export const WNOTHREAD = 0x20000000;
export const ECHILD = 10;
export const EINTR = 4;
export const SIGKILL = 9;
export const SIGCONT = 18;
export const SIGTRAP = 5;
export const SIGSTOP = 19;
export const O_CLOEXEC = 0o2000000;
export const O_RDONLY = 0;
export const POSIX_SPAWN_SETPGROUP = 0x02;
export const POSIX_SPAWN_SETSIGDEF = 0x04;
export const POSIX_SPAWN_SETSIGMASK = 0x08;
export const SYS_ARCH_PRCTL = 158;
export const ARCH_SET_CPUID = 0x1012;

/** `struct user_regs_struct` (27 × u64) slots. */
export const Reg = { rbp: 4, rbx: 5, rax: 10, rcx: 11, rdx: 12, rsi: 13, rdi: 14, origRax: 15, rip: 16 } as const;
export const USER_REGS_WORDS = 27;

type Fn<A extends unknown[], R> = (...args: A) => R;

export interface TracerLibc {
  ptrace: Fn<[request: number, pid: number, addr: bigint | number, data: bigint | number], number | bigint>;
  ptraceBuf: Fn<[request: number, pid: number, addr: bigint | number, data: Uint8Array], number | bigint>;
  waitpid: Fn<[pid: number, status: Int32Array, options: number], number>;
  kill: Fn<[pid: number, signal: number], number>;
  close: Fn<[fd: number], number>;
  pipe2: Fn<[fds: Int32Array, flags: number], number>;
  posixSpawnp: Fn<[pid: Int32Array, file: string, fileActions: Uint8Array, attr: Uint8Array, argv: (string | null)[], envp: (string | null)[]], number>;
  fileActionsInit: Fn<[fa: Uint8Array], number>;
  fileActionsDestroy: Fn<[fa: Uint8Array], number>;
  fileActionsAddDup2: Fn<[fa: Uint8Array, fd: number, newFd: number], number>;
  fileActionsAddOpen: Fn<[fa: Uint8Array, fd: number, path: string, flags: number, mode: number], number>;
  attrInit: Fn<[attr: Uint8Array], number>;
  attrDestroy: Fn<[attr: Uint8Array], number>;
  attrSetFlags: Fn<[attr: Uint8Array, flags: number], number>;
  attrSetPgroup: Fn<[attr: Uint8Array, pgroup: number], number>;
  attrSetSigmask: Fn<[attr: Uint8Array, set: Uint8Array], number>;
  attrSetSigdefault: Fn<[attr: Uint8Array, set: Uint8Array], number>;
  sigfillset: Fn<[set: Uint8Array], number>;
  sigemptyset: Fn<[set: Uint8Array], number>;
  errno(): number;
}

/** libc through koffi, for the tracer thread only (ptrace requests are per tracer thread). */
export function bindTracerLibc(koffi: KoffiModule): TracerLibc {
  const libc = koffi.load('libc.so.6');
  const f = <A extends unknown[], R>(definition: string): Fn<A, R> => libc.func(definition);
  return {
    ptrace: f('long ptrace(long request, int pid, uint64_t addr, uint64_t data)'),
    ptraceBuf: f('long ptrace(long request, int pid, uint64_t addr, _Inout_ uint8_t *data)'),
    waitpid: f('int waitpid(int pid, _Out_ int *status, int options)'),
    kill: f('int kill(int pid, int sig)'),
    close: f('int close(int fd)'),
    pipe2: f('int pipe2(_Out_ int *fds, int flags)'),
    posixSpawnp: f('int posix_spawnp(_Out_ int *pid, const char *file, const uint8_t *fa, const uint8_t *attr, const char **argv, const char **envp)'),
    fileActionsInit: f('int posix_spawn_file_actions_init(_Inout_ uint8_t *fa)'),
    fileActionsDestroy: f('int posix_spawn_file_actions_destroy(_Inout_ uint8_t *fa)'),
    fileActionsAddDup2: f('int posix_spawn_file_actions_adddup2(_Inout_ uint8_t *fa, int fd, int newfd)'),
    fileActionsAddOpen: f('int posix_spawn_file_actions_addopen(_Inout_ uint8_t *fa, int fd, const char *path, int oflag, int mode)'),
    attrInit: f('int posix_spawnattr_init(_Inout_ uint8_t *attr)'),
    attrDestroy: f('int posix_spawnattr_destroy(_Inout_ uint8_t *attr)'),
    attrSetFlags: f('int posix_spawnattr_setflags(_Inout_ uint8_t *attr, short flags)'),
    attrSetPgroup: f('int posix_spawnattr_setpgroup(_Inout_ uint8_t *attr, int pgroup)'),
    attrSetSigmask: f('int posix_spawnattr_setsigmask(_Inout_ uint8_t *attr, const uint8_t *set)'),
    attrSetSigdefault: f('int posix_spawnattr_setsigdefault(_Inout_ uint8_t *attr, const uint8_t *set)'),
    sigfillset: f('int sigfillset(_Inout_ uint8_t *set)'),
    sigemptyset: f('int sigemptyset(_Inout_ uint8_t *set)'),
    errno: () => koffi.errno(),
  };
}
