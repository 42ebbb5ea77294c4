import { createKdcomLink, createMemoryBytePair, createTargetSession, type OpenedLink, type SimVariantProvider } from '@vmkd/kd-protocol';
import { createPacedByteLink } from '@vmkd/serial-fallback';
import { EMPTY } from 'rxjs';

export const DEFAULT_SERIAL_BAUD = 115_200;
const MAX_BAUD = 10_000_000;

export interface SimSerialSpec {
  /** Pacing of the virtual serial line in bit/s (0 = unpaced). */
  readonly baud: number;
}

/**
 * `sim://?via=serial&baud=N`: the virtual kernel in this process behind an in-memory "serial
 * line", paced like a UART at `baud` (0 = unpaced), with real KDCOM on both ends.
 */
export const simSerialVariant: SimVariantProvider<SimSerialSpec> = {
  via: 'serial',
  summary: 'behind a paced serial line (KDCOM, in-process)',
  keys: ['baud'],
  parse: (uri) => ({ baud: uri.integer('baud', DEFAULT_SERIAL_BAUD, 0, MAX_BAUD) }),
  open(spec, setup): Promise<OpenedLink> {
    const { baud } = spec;
    const target = setup.createTarget();
    const [targetEnd, guestEnd] = createMemoryBytePair({ names: ['sim:target', 'sim:line'] });
    // Pacing on the target's end times both directions of the line, as a UART does.
    const line = baud > 0 ? createPacedByteLink(targetEnd, { baud }) : targetEnd;
    const targetLink = createKdcomLink(line, { role: 'debugger-facing' });
    const session = createTargetSession(targetLink, target.backend);
    const link = createKdcomLink(guestEnd, { role: 'target-facing', name: `sim+serial${baud > 0 ? `@${baud}` : ''}` });
    return Promise.resolve({
      link,
      description: `${setup.description} behind ${baud > 0 ? `a ${baud.toLocaleString('en-US')} bit/s paced` : 'an unpaced'} serial line (in-process)`,
      notices$: EMPTY,
      sim: { dataRegion: target.dataRegion, backend: target.backend },
      async close() {
        await link.close();
        await session.close();
        await targetLink.close();
        target.close();
      },
    });
  },
};
