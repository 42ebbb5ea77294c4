import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSerialGuestLink } from '@vmkd/serial-fallback';
import { closeAll, linkWireBytes, type OpenedGuest } from './opened.js';
import { startReadyChild } from './ready-child.js';

/**
 * The deployment shape of the serial transport: the virtual kernel in a child process (as the VM
 * is a process of its own) serving KDCOM on a Unix socket, vmkd connecting to it from this one.
 * The child's CPU time and peak RSS are counted with the cell's.
 */
export async function openSerialGuestTwoProcess(options: { readonly memorySize: number; readonly startTimeoutMs?: number }): Promise<OpenedGuest> {
  const cleanups: (() => unknown)[] = [];
  try {
    const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-2proc-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'com1.sock');
    const child = await startReadyChild('serial-guest-child', [path, String(options.memorySize)], options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs });
    cleanups.push(() => child.close());
    const [base, size] = child.words;
    const link = await createSerialGuestLink({ connect: { kind: 'unix', path }, reconnect: false, name: 'serial+unix-2proc' });
    cleanups.push(() => link.close());
    return {
      link,
      dataBase: BigInt(`0x${base ?? '0'}`),
      dataSize: BigInt(`0x${size ?? '0'}`),
      childPid: child.pid,
      wireBytes: linkWireBytes(link),
      close: () => closeAll(cleanups),
    };
  } catch (error) {
    await closeAll(cleanups);
    throw error;
  }
}
