import { Option, type Command } from 'commander';
import { DEFAULT_SIM_OPTIONS } from '@vmkd/connect';
import type { ActionRunner } from './action-runner.js';
import { integerArg, sizeArg } from './option-args.js';
import type { BenchCommandOptions } from './bench.js';
import type { DemoOptions } from './demo.js';
import type { RouteCommandOptions } from './route.js';
import type { SimCommandOptions } from './sim.js';
import { registerDumpCommand } from './dump.js';
import type { TraceCommandOptions } from './trace.js';

const GUEST_HELP = `
Guest URIs (where the kernel's debug traffic comes from):
  serial+tcp://127.0.0.1:5555         a VM serial port served on TCP (QEMU server=on, VirtualBox tcpserver)
  serial+unix:com1.sock               … on a Unix socket (relative or absolute path)
  serial+pipe://./pipe/com_1          … on a Windows named pipe (VMware, Hyper-V, VirtualBox)
     add ?mode=listen when the VM connects to vmkd, ?pace=115200 to emulate a UART on vmkd's side
  serial:///dev/ttyS0?baud=115200     a serial or pty device
  kdrpc+proxypipe://./pipe/kdvmware_proxypipe, kdrpc+proxyunix:PATH
                                      VirtualKD's proxy-pipe protocol (accelerated KDRPC)
  sim://?via=serial&baud=115200       the embedded virtual kernel behind a paced serial line
  sim://?via=kdrpc[&backdoor=inprocess|native]
                                      … behind the accelerated KDRPC/GuestRPC path
     sim also takes build=win7|win10, memory=256M, cpus=N, ram=PATH (RAM as a file, for vmkd dump)

Endpoint URIs (where debuggers attach):
  pipe://./pipe/kd_win10   windbg -k com:pipe,port=\\\\.\\pipe\\kd_win10,resets=0,reconnect
  tcp://127.0.0.1:9999     windbg -k com:ipport=9999,port=127.0.0.1   (port 0 picks a free one)
  unix:kd.sock             r2 -a x86 -b 64 -D winkd winkd://kd.sock

Examples:
  vmkd route sim:// tcp://127.0.0.1:9999
  vmkd route serial+tcp://127.0.0.1:5555 pipe://./pipe/kd_win10 --trace kd.jsonl`;

/**
 * Declares every subcommand: names, arguments, options and help text. Actions live in their own
 * modules, loaded only when their command runs: `vmkd --help` and `vmkd doctor` stay fast and never
 * load transports (or native code) they do not use.
 */
export function registerCommands(program: Command, runner: ActionRunner): void {
  program
    .command('route')
    .description("route a guest's kernel-debugger traffic to a debugger endpoint")
    .argument('<guest-uri>', 'where the guest is (see below)')
    .argument('<endpoint-uri>', 'where debuggers attach (see below)')
    .option('--trace <file>', 'write every packet and event as JSON lines to <file> (read it with "vmkd trace")')
    .option('--trace-bytes', 'with --trace: add each packet\'s payload as hex ("bytes") so "vmkd trace" can re-emit the session')
    .option('--relay', 'diagnosis: relay bytes unchanged (no KDCOM termination); the trace then records raw chunks and frames')
    .option('--allow-remote', 'allow TCP listeners on non-loopback addresses (anyone who connects controls the kernel)')
    .addHelpText('after', GUEST_HELP)
    .action(async (guest: string, endpoint: string, options: RouteCommandOptions, command: Command) =>
      runner.run(command, async (ctx) => (await import('./route.js')).runRoute(ctx, guest, endpoint, options)),
    );

  program
    .command('sim')
    .description('serve the virtual Windows kernel on a serial-like KDCOM link, for any KD debugger or "vmkd route"')
    .option('--listen <uri>', 'listen for the debugger side: tcp://127.0.0.1:5555, unix:com1.sock, pipe://./pipe/com_1')
    .option('--connect <uri>', 'connect or open instead: tcp://…, unix:…, pipe://…, serial:///dev/pts/3')
    .option('--build <build>', 'Windows build to imitate: win7 (7601), win10 (18362), a build number such as 19041, or a full name such as win10-2004-x64', DEFAULT_SIM_OPTIONS.build)
    .addOption(new Option('--memory <size>', 'physical memory (256M, 1G)').argParser(sizeArg('--memory')).default(DEFAULT_SIM_OPTIONS.memory, '256M'))
    .option('--cpus <n>', 'processors', integerArg('--cpus', 1, 64), DEFAULT_SIM_OPTIONS.cpus)
    .option('--baud <bits-per-second>', 'pace the line like a UART at this rate (0 = unpaced)', integerArg('--baud', 0, 10_000_000), 0)
    .option('--ram-file <path>', "expose the kernel's RAM as this file (for the memory fast path: --memory file:<path>)")
    .option('--allow-remote', 'allow a TCP listener on a non-loopback address')
    .addHelpText(
      'after',
      `
Prints the address it serves on (stdout), then runs until Ctrl-C. One peer at a time, like a
serial port: a newcomer takes over, and the kernel keeps its state.

Examples:
  vmkd sim --listen tcp://127.0.0.1:5555 --baud 115200
  vmkd route serial+tcp://127.0.0.1:5555 tcp://127.0.0.1:9999      # in another terminal`,
    )
    .action(async (options: SimCommandOptions, command: Command) => runner.run(command, async (ctx) => (await import('./sim.js')).runSim(ctx, options)));

  program
    .command('demo')
    .description('a guided tour: the virtual kernel on a paced serial line, routed, debugged by vmkd, then the accelerated path')
    .option('--baud <bits-per-second>', 'serial line rate', integerArg('--baud', 300, 10_000_000), 115_200)
    .option('--serial-kib <n>', 'KiB read over the serial line for the throughput figure', integerArg('--serial-kib', 1, 1024), 16)
    .option('--accelerated-mib <n>', 'MiB read over the accelerated path', integerArg('--accelerated-mib', 1, 1024), 16)
    .action(async (options: DemoOptions, command: Command) => runner.run(command, async (ctx) => (await import('./demo.js')).runDemo(ctx, options)));

  program
    .command('bench')
    .description('benchmark the transports and what debuggers feel: every guest × endpoint, direct and routed, against the raw socket limit; steps, breakpoints, attach to ready, full dumps, line faults')
    .option('--quick', 'the small matrix (under a minute on 2 cores)')
    .option('--out <dir>', 'also write results.json, results.md and SVG charts to <dir>')
    .option('--wide', 'every column in the table (by default it fits 100 columns)')
    .option('--only <cells>', 'run only these cells, guest kinds, endpoint kinds or run workloads (dump, recovery, radare2), comma-separated')
    .option('--read-mib <n>', 'MiB read by each unpaced cell (default 4 with --quick, 32 otherwise)', integerArg('--read-mib', 1, 65_536))
    .option('--dump-mib <n>', 'MiB of guest-physical memory each full dump reads (default 16 with --quick, 1024 otherwise)', integerArg('--dump-mib', 1, 4096))
    .option('--recovery-reads <n>', 'reads of the line-fault recovery workload (default 100 with --quick, 1000 otherwise)', integerArg('--recovery-reads', 1, 100_000))
    .action(async (options: BenchCommandOptions, command: Command) => runner.run(command, async (ctx) => (await import('./bench.js')).runBench(ctx, options)));

  program
    .command('trace')
    .description('pretty-print a route trace file (JSONL written by "vmkd route --trace")')
    .argument('<file>', 'the trace file')
    .option('--kdcom', 'write the recorded packets as a KDCOM byte stream instead (pipe it into "kd-decode")')
    .option('--kdnet-key <key>', 'decrypt the KDNET datagrams a route recorded with --trace-bytes (w.x.y.z) and print them as "kd-decode --kdnet-key" does')
    .addHelpText(
      'after',
      `
With --json, prints a summary (record counts per kind and packet type) instead of the lines.
Malformed lines are skipped, named on stderr and counted; the rest of the file is still read.

--kdcom re-emits the session as the bytes a serial line would have carried: every packet record
that holds its raw bytes as a data frame, each break-in as "b", each RESET as a control frame.

--kdnet-key decrypts the UDP datagrams of a KDNET guest or endpoint (recorded with --trace-bytes):
one JSON line per datagram with direction, sequence, channel and the decoded KD packet.

Examples:
  vmkd trace kd.jsonl | less
  vmkd trace --kdcom kd.jsonl | kd-decode
  vmkd trace --kdnet-key 1.2.3.4 kdnet.jsonl`,
    )
    .action(async (file: string, options: TraceCommandOptions, command: Command) =>
      runner.run(command, async (ctx) => (await import('./trace.js')).runTrace(ctx, file, options)),
    );

  program
    .command('rpc')
    .description('send one GuestRPC command to VMware from inside a VMware guest (e.g. "info-get guestinfo.ip")')
    .argument('<command>', 'the RPCI command text, quoted as one argument')
    .addHelpText(
      'after',
      `
Runs only inside a VMware guest on x86-64 (Linux or Windows). Elsewhere it refuses with
ERR_BACKDOOR_NOT_VMWARE (exit 1) and says what it found instead; detection reads CPUID first and
touches the backdoor port only once CPUID says VMware.

Examples:
  vmkd rpc "info-get guestinfo.ip"
  vmkd rpc "info-set guestinfo.vmkd hello"`,
    )
    .action(async (rpcCommand: string, _options: unknown, command: Command) => runner.run(command, async (ctx) => (await import('./rpc.js')).runRpc(ctx, rpcCommand)));

  registerDumpCommand(program, runner);

  program
    .command('doctor')
    .description('check this machine: Node, native FFI, VMware guest detection, socat, and what each URI scheme needs')
    .action(async (_options: unknown, command: Command) => runner.run(command, async (ctx) => (await import('./doctor.js')).runDoctor(ctx)));
}
