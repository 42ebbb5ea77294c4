import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY } from 'rxjs';
import { createKdcomLink, createMemoryBytePair, createTargetSession, type OpenedLink, type SimSetup, type SimVariantProvider } from '@vmkd/kd-protocol';
import { createPacedByteLink, createSerialGuestLink, createSerialTargetLink, type SerialLineListenOptions } from '@vmkd/serial-fallback';
import { startReadyChild } from '../child/ready-child.js';

export const DEFAULT_SERIAL_BAUD = 115_200;
const MAX_BAUD = 10_000_000;

export interface SimSerialSpec {
  /** Pacing of the virtual serial line in bit/s (0 = unpaced). */
  readonly baud: number;
  /** What carries the line: an in-memory pair, or a real Unix socket or loopback TCP connection. */
  readonly line: 'memory' | 'unix' | 'tcp';
  /** Where the kernel runs: this process, or a child of its own (as a VM is a process of its own). */
  readonly process: 'self' | 'child';
}

/** Runs cleanups in reverse order, never throwing: a guest that failed half-way tears down what it can. */
async function closeAll(cleanups: readonly (() => unknown)[]): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch {
      /* already gone */
    }
  }
}

function portOf(address: string): number {
  return Number(/:(\d+)\/?$/.exec(address)?.[1] ?? Number.NaN);
}

function lineText(spec: SimSerialSpec): string {
  const rate = spec.baud > 0 ? `a ${spec.baud.toLocaleString('en-US')} bit/s paced` : 'an unpaced';
  const carrier = spec.line === 'memory' ? 'in-process' : spec.line === 'unix' ? 'KDCOM over a Unix socket' : 'KDCOM over loopback TCP';
  return `${rate} serial line (${carrier})`;
}

/** The line as an in-memory byte pair, the target in this process. */
function openMemoryLine(spec: SimSerialSpec, setup: SimSetup): OpenedLink {
  const { baud } = spec;
  const target = setup.createTarget();
  const [targetEnd, guestEnd] = createMemoryBytePair({ names: ['sim:target', 'sim:line'] });
  // Pacing on the target's end times both directions of the line, as a UART does.
  const line = baud > 0 ? createPacedByteLink(targetEnd, { baud }) : targetEnd;
  const targetLink = createKdcomLink(line, { role: 'debugger-facing' });
  const session = createTargetSession(targetLink, target.backend);
  const link = createKdcomLink(guestEnd, { role: 'target-facing', name: `sim+serial${baud > 0 ? `@${baud}` : ''}` });
  return {
    link,
    description: `${setup.description} behind ${lineText(spec)}`,
    notices$: EMPTY,
    sim: { dataRegion: target.dataRegion, backend: target.backend },
    async close() {
      await link.close();
      await session.close();
      await targetLink.close();
      target.close();
    },
  };
}

/**
 * The line as a real socket: the kernel's "serial port" served on a Unix socket or loopback TCP
 * (as QEMU's `-serial unix:…,server` is), by this process or a child, and vmkd's serial guest link
 * connecting to it as it would to a VM.
 */
async function openSocketLine(spec: SimSerialSpec, setup: SimSetup): Promise<OpenedLink> {
  const cleanups: (() => unknown)[] = [];
  try {
    let path: string | undefined;
    if (spec.line === 'unix') {
      const dir = await mkdtemp(join(tmpdir(), 'vmkd-sim-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      path = join(dir, 'com1.sock');
    }
    const pace = spec.baud > 0 ? { pace: { baud: spec.baud } } : {};
    let address: string;
    let sim: OpenedLink['sim'];
    if (spec.process === 'child') {
      const child = await startReadyChild(import.meta.url, 'serial-target-child', [
        path ?? 'tcp',
        setup.build,
        String(setup.memory),
        String(setup.cpus),
        setup.printIntervalMs === undefined ? '-' : String(setup.printIntervalMs),
        String(spec.baud),
        setup.ramFile ?? '-',
      ]);
      cleanups.push(() => child.close());
      const [where = '', base = '0', size = '0'] = child.words;
      address = where;
      sim = { dataRegion: { virtualBase: BigInt(`0x${base}`), size: BigInt(`0x${size}`) }, childPid: child.pid };
    } else {
      const target = setup.createTarget();
      cleanups.push(() => target.close());
      const listen: SerialLineListenOptions = path === undefined ? { kind: 'tcp', port: 0, ...pace } : { kind: 'unix', path, ...pace };
      const targetLink = await createSerialTargetLink({ listen, name: 'sim:com1' });
      cleanups.push(() => targetLink.close());
      const session = createTargetSession(targetLink, target.backend);
      cleanups.push(() => session.close());
      address = targetLink.address;
      sim = { dataRegion: target.dataRegion, backend: target.backend };
    }
    const connect = path === undefined ? { kind: 'tcp' as const, host: '127.0.0.1', port: portOf(address) } : { kind: 'unix' as const, path };
    const link = await createSerialGuestLink({ connect, reconnect: false, name: `serial+${spec.line}${spec.process === 'child' ? '-2proc' : ''}` });
    cleanups.push(() => link.close());
    return {
      link,
      description: `${setup.description}${spec.process === 'child' ? ' in a child process' : ''} behind ${lineText(spec)}`,
      address,
      notices$: EMPTY,
      sim,
      close: () => closeAll(cleanups),
    };
  } catch (error) {
    await closeAll(cleanups);
    throw error;
  }
}

/**
 * `sim://?via=serial&baud=N[&line=memory|unix|tcp][&process=self|child]`: the virtual kernel
 * behind a "serial line", paced like a UART at `baud` (0 = unpaced), with real KDCOM on both ends.
 * `line=unix` and `line=tcp` carry it over a real socket; `process=child` puts the kernel in a
 * process of its own (the deployment shape of a VM's serial port).
 */
export const simSerialVariant: SimVariantProvider<SimSerialSpec> = {
  via: 'serial',
  summary: 'behind a paced serial line (KDCOM; in-process, or over a Unix socket or TCP)',
  keys: ['baud', 'line', 'process'],
  parse(uri) {
    const baud = uri.integer('baud', DEFAULT_SERIAL_BAUD, 0, MAX_BAUD);
    const line = uri.choice('line', ['memory', 'unix', 'tcp'] as const, 'memory');
    const where = uri.choice('process', ['self', 'child'] as const, 'self');
    if (where === 'child' && line === 'memory') throw uri.bad('process=child needs a socket between the processes: line=unix or line=tcp');
    if (line === 'unix' && process.platform === 'win32') throw uri.bad('line=unix needs Unix sockets; use line=tcp on Windows');
    return { baud, line, process: where };
  },
  open: (spec, setup) => (spec.line === 'memory' ? Promise.resolve(openMemoryLine(spec, setup)) : openSocketLine(spec, setup)),
};
