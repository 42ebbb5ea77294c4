import type { Command } from 'commander';
import type { OpenedLink } from '@vmkd/kd-protocol';
import type { CommandContext } from '../output/command-context.js';
import type { ActionRunner } from './action-runner.js';

export interface DumpCommandOptions {
  readonly memory?: string;
  readonly bitmap?: boolean;
  readonly resume?: boolean;
  readonly keepStopped?: boolean;
  readonly fsync?: boolean;
  readonly buffered?: boolean;
}

/** Declares `vmkd dump`; the action and its packages load only when it runs. */
export function registerDumpCommand(program: Command, runner: ActionRunner): void {
  program
    .command('dump')
    .description('write a Windows kernel crash dump (full or bitmap) of a guest, from its memory source when there is one, else through KD')
    .argument('<guest-uri>', 'the guest, as for "vmkd route" (sim://?…&ram=PATH exposes the virtual kernel\'s RAM)')
    .argument('<file>', 'the .dmp file to write')
    .option('--memory <source-uri>', 'read pages from guest RAM on the host: file:/dev/shm/vm.ram[?layout=q35], qemu:/path/to/qmp.sock')
    .option('--bitmap', 'a bitmap dump (DumpType 5): only pages that hold anything but zeros')
    .option('--resume', 'continue an interrupted dump of the same stop')
    .option('--keep-stopped', 'leave the target stopped afterwards (default: it runs on)')
    .option('--fsync', 'flush the finished dump to the disk before exiting')
    .option('--buffered', 'write pages through the page cache, as cp does (default: O_DIRECT where the OS and file system allow it)')
    .addHelpText(
      'after',
      `
The target is stopped (broken into) for the dump. The header (version, KdDebuggerDataBlock, the
physical memory runs from MmPhysicalMemoryBlock, CR3, the stopped CPU's context and exception
record) always comes over KD; the pages come from --memory once it has been validated against KD
at this stop, otherwise through KD (4000-byte packets: slow on serial lines).

Examples:
  vmkd dump 'sim://?via=serial&baud=0&ram=/dev/shm/sim.ram' sim.dmp
  vmkd dump serial+tcp://127.0.0.1:5555 win10.dmp --memory file:/dev/shm/win10.ram?layout=q35
  vmkd dump serial+unix:/run/vm/com1.sock win10.dmp --memory qemu:/run/vm/qmp.sock --bitmap`,
    )
    .action(async (guest: string, file: string, options: DumpCommandOptions, command: Command) => runner.run(command, async (ctx) => runDump(ctx, guest, file, options)));
}

export async function runDump(ctx: CommandContext, guestUri: string, file: string, options: DumpCommandOptions): Promise<number> {
  const { openGuest } = await import('@vmkd/connect');
  const { createDebuggerSession } = await import('@vmkd/kd-protocol');
  const vmm = await import('@vmkd/vmm-memory');
  // Parse --memory before opening anything: a typo costs nothing.
  const memory = options.memory === undefined ? undefined : vmm.parseSourceUri(options.memory);
  let guest: OpenedLink = await openGuest(guestUri);
  try {
    // `?memory=` on the guest (or sim's `ram=`) already put the fast path in; --memory adds it here.
    if (memory !== undefined && vmm.fastPathOf(guest) === undefined) guest = await vmm.memoryGuestOption.wrap(guest, memory, { allowRemote: false });
    const fastPath = vmm.fastPathOf(guest);
    const notices = guest.notices$.subscribe((line) => ctx.status(ctx.err.dim(line)));
    const session = createDebuggerSession(guest.link, { timeoutMs: 30_000 });
    ctx.status(ctx.err.dim(`vmkd dump: attaching to ${guest.description}`));
    await session.attach({ timeoutMs: 60_000 });
    const progress = ctx.progress(`dumping to ${file}`);
    const started = performance.now();
    let result;
    try {
      result = await vmm.dumpTarget(session, file, {
        type: options.bitmap === true ? 'bitmap' : 'full',
        resume: options.resume === true,
        fsync: options.fsync === true,
        direct: options.buffered !== true,
        ...(fastPath === undefined ? {} : { fastPath }),
        comment: `vmkd dump of ${guestUri}`,
        onProgress: (p) => progress.update(`dumping to ${file}: ${((100 * p.pagesDone) / p.pagesTotal).toFixed(1)}% (${p.pagesDone}/${p.pagesTotal} pages)`),
      });
    } finally {
      progress.done();
    }
    const seconds = (performance.now() - started) / 1000;
    if (options.keepStopped !== true) await session.continue();
    await session.close();
    notices.unsubscribe();
    const mib = result.fileBytes / (1024 * 1024);
    // The dump holds three chunk buffers whatever the guest's size; the peak says so (KiB on Linux).
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    const from = result.from === 'source' ? (fastPath?.source.description ?? 'the memory source') : 'KD';
    ctx.result(
      { ...result, seconds: Number(seconds.toFixed(3)), mibPerSecond: Number((mib / seconds).toFixed(1)), peakRssMiB: Number(peakRssMiB.toFixed(1)), fastPath: fastPath?.fastPathStats() },
      () =>
        `${result.path}: ${result.type} dump, ${result.pagesWritten} of ${result.pagesTotal} pages (${mib.toFixed(1)} MiB) from ${from} in ${seconds.toFixed(2)} s (${(mib / seconds).toFixed(0)} MiB/s, ${result.io} writes)` +
        `${result.resumedFrom > 0 ? `, resumed at page ${result.resumedFrom}` : ''}${result.pagesUnreadable > 0 ? `; ${result.pagesUnreadable} pages unreadable (written as zeros)` : ''}; peak RSS ${peakRssMiB.toFixed(0)} MiB`,
    );
    return 0;
  } finally {
    await guest.close();
  }
}
