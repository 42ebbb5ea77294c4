import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTargetSession } from '@vmkd/kd-protocol';
import { createSerialGuestLink, createSerialTargetLink, type PacingOptions, type SerialLineListenOptions } from '@vmkd/serial-fallback';
import { createSimTarget } from '@vmkd/sim-target';
import { closeAll, linkWireBytes, type OpenedGuest } from './opened.js';

export interface SerialGuestOptions {
  readonly socket: 'unix' | 'tcp';
  /** UART pacing of the line (the target's end times both directions, as a UART does). */
  readonly pace?: PacingOptions;
  readonly memorySize: number;
}

/**
 * The virtual kernel behind a "serial port" served on a socket (as QEMU's `-serial unix:…,server`
 * or VirtualBox's host pipe), KDCOM on both ends, and vmkd connecting to it as the debugger side.
 */
export async function openSerialGuest(options: SerialGuestOptions): Promise<OpenedGuest> {
  const cleanups: (() => unknown)[] = [];
  try {
    const sim = createSimTarget({ memorySize: options.memorySize, printIntervalMs: 0 });
    cleanups.push(() => sim.close());
    let listen: SerialLineListenOptions;
    if (options.socket === 'unix') {
      const dir = await mkdtemp(join(tmpdir(), 'vmkd-bench-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      listen = { kind: 'unix', path: join(dir, 'com1.sock'), ...(options.pace ? { pace: options.pace } : {}) };
    } else {
      listen = { kind: 'tcp', port: 0, ...(options.pace ? { pace: options.pace } : {}) };
    }
    const targetLink = await createSerialTargetLink({ listen, name: 'sim:com1' });
    cleanups.push(() => targetLink.close());
    const targetSession = createTargetSession(targetLink, sim);
    cleanups.push(() => targetSession.close());
    const connect =
      listen.kind === 'unix'
        ? { kind: 'unix' as const, path: listen.path }
        : { kind: 'tcp' as const, host: '127.0.0.1', port: portOf(targetLink.address) };
    const link = await createSerialGuestLink({ connect, reconnect: false, name: `serial+${options.socket}` });
    cleanups.push(() => link.close());
    return {
      link,
      dataBase: sim.layout.dataRegion.virtualBase,
      dataSize: sim.layout.dataRegion.size,
      wireBytes: linkWireBytes(link),
      close: () => closeAll(cleanups),
    };
  } catch (error) {
    await closeAll(cleanups);
    throw error;
  }
}

export function portOf(address: string): number {
  const m = /:(\d+)\/?$/.exec(address);
  if (m === null) throw new Error(`no port in ${address}`);
  return Number(m[1]);
}
