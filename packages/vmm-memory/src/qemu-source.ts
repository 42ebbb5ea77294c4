import { open, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { VmmMemoryErrorCode, vmmError } from './errors.js';
import type { MemorySource } from './memory-source.js';
import { normaliseRanges, type PhysicalLayout, type PhysicalRange } from './physical-layout.js';
import { connectQmp, type QmpClient } from './qmp-client.js';
import { findUnixSocketInode, parseFlatViewRam, parseGpa2hva } from './qemu-flat-view.js';
import { createRangeSource } from './range-source.js';

export interface QemuSourceOptions {
  /** QEMU's process id; found from the QMP socket's owner in /proc when left out. */
  readonly pid?: number;
  readonly timeoutMs?: number;
}

/**
 * Guest RAM of a running QEMU, found over QMP: the RAM ranges of the system address space
 * (`info mtree -f`), the host address of each (`gpa2hva`), read from `/proc/PID/mem`. Nothing is
 * assumed about the machine type: the layout is QEMU's own. When /proc/PID/mem cannot be opened
 * (another user's process, ptrace restrictions) and the RAM backend is a file (`mem-path`), the
 * file is read instead at the same offsets.
 */
export async function openQemuSource(socketPath: string, options: QemuSourceOptions = {}): Promise<MemorySource> {
  const qmp = await connectQmp(socketPath, { timeoutMs: options.timeoutMs });
  try {
    const flat = parseFlatViewRam(await qmp.hmp('info mtree -f'));
    const memdevs = (await qmp.execute('query-memdev')) as { id?: string }[];
    const mainRam = new Set<string>(['pc.ram', ...memdevs.map((m) => m.id).filter((id): id is string => typeof id === 'string')]);
    const ram = flat.filter((r) => mainRam.has(r.region));
    if (ram.length === 0) {
      throw vmmError(VmmMemoryErrorCode.QmpNoRam, `QEMU at ${socketPath} shows no guest RAM (${[...mainRam].join(', ')}) in its system address space`, { socket: socketPath });
    }
    const pid = options.pid ?? (await qemuPid(socketPath));
    const hostRanges: PhysicalRange[] = [];
    for (const r of ram) {
      const hva = parseGpa2hva(await qmp.hmp(`gpa2hva 0x${r.start.toString(16)}`));
      if (hva === undefined) throw vmmError(VmmMemoryErrorCode.Qmp, `QEMU did not give a host address for guest-physical 0x${r.start.toString(16)}`, { pa: `0x${r.start.toString(16)}` });
      hostRanges.push({ guestStart: r.start, length: r.end - r.start, sourceOffset: hva });
    }
    const layout: PhysicalLayout = { description: `QEMU ${qmp.version} flat view (${ram.length} RAM ranges)`, ranges: normaliseRanges(hostRanges) };
    try {
      const handle = await open(`/proc/${pid}/mem`, 'r');
      // Probe one byte: opening can succeed where reading is refused (ptrace access mode check at read time).
      await handle.read(new Uint8Array(1), 0, 1, Number(layout.ranges[0].sourceOffset));
      qmp.close();
      return createRangeSource(`qemu:${socketPath} (pid ${pid}, /proc/${pid}/mem)`, layout, handle);
    } catch (procError) {
      const file = await backendFile(qmp, memdevs);
      if (file === undefined) {
        throw vmmError(VmmMemoryErrorCode.SourceIo, `cannot read /proc/${pid}/mem of QEMU (${(procError as Error).message}) and its RAM is not file-backed`, { pid }, procError);
      }
      const fileRanges = normaliseRanges(ram.map((r) => ({ guestStart: r.start, length: r.end - r.start, sourceOffset: r.regionOffset })));
      qmp.close();
      return createRangeSource(`qemu:${socketPath} (mem-path ${file})`, { ...layout, ranges: fileRanges }, await open(file, 'r'));
    }
  } catch (error) {
    qmp.close();
    throw error;
  }
}

async function backendFile(qmp: QmpClient, memdevs: { id?: string }[]): Promise<string | undefined> {
  for (const m of memdevs) {
    if (m.id === undefined) continue;
    try {
      const path = await qmp.execute('qom-get', { path: `/objects/${m.id}`, property: 'mem-path' });
      if (typeof path === 'string' && path !== '') return path;
    } catch {
      // not a file backend
    }
  }
  return undefined;
}

/** The pid of the process that listens on the QMP socket: its inode in /proc/net/unix, then whose fd points at it. */
export async function qemuPid(socketPath: string): Promise<number> {
  let path = socketPath;
  try {
    path = await realpath(socketPath);
  } catch {
    // keep the given path
  }
  const inode = findUnixSocketInode(await readFile('/proc/net/unix', 'utf8'), path) ?? findUnixSocketInode(await readFile('/proc/net/unix', 'utf8'), socketPath);
  if (inode === undefined) {
    throw vmmError(VmmMemoryErrorCode.Qmp, `no listening socket ${socketPath} in /proc/net/unix; pass qemu:${socketPath}?pid=PID`, { socket: socketPath });
  }
  const want = `socket:[${inode}]`;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = await readdir(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if ((await readlink(`/proc/${entry}/fd/${fd}`)) === want) return Number(entry);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  throw vmmError(VmmMemoryErrorCode.Qmp, `no process of this user holds the QMP socket ${socketPath}; pass qemu:${socketPath}?pid=PID`, { socket: socketPath });
}
