import { createKdcomLink, createMemoryBytePair, createTargetSession } from '@vmkd/kd-protocol';
import type { TargetBackend, TargetSession } from '@vmkd/kd-protocol';
import { createPacedByteLink } from '@vmkd/serial-fallback';
import { createSimBackend, describeSim } from '../sim/sim-backend.js';
import type { SimOptions } from '../uri/transport-uri.js';
import { holdEvents } from './hold-events.js';
import type { OpenedGuest } from './opened-guest.js';

/**
 * `sim://?via=serial`: the virtual kernel in this process behind an in-memory "serial line",
 * paced like a UART at `baud` (0 = unpaced), with real KDCOM on both ends.
 */
export function openSimSerialGuest(sim: SimOptions, baud: number, given?: TargetBackend): OpenedGuest & { readonly session: TargetSession } {
  const owned = given === undefined ? createSimBackend(sim) : undefined;
  const backend = given ?? owned!;
  const [targetEnd, guestEnd] = createMemoryBytePair({ names: ['sim:target', 'sim:line'] });
  // Pacing on the target's end times both directions of the line, as a UART does.
  const line = baud > 0 ? createPacedByteLink(targetEnd, { baud }) : targetEnd;
  const targetLink = createKdcomLink(line, { role: 'debugger-facing' });
  const session = createTargetSession(targetLink, backend);
  const link = holdEvents(createKdcomLink(guestEnd, { role: 'target-facing', name: `sim+serial${baud > 0 ? `@${baud}` : ''}` }));
  return {
    link,
    session,
    description: `${describeSim(sim)} behind ${baud > 0 ? `a ${baud.toLocaleString('en-US')} bit/s paced` : 'an unpaced'} serial line (in-process)`,
    async close() {
      await link.close();
      await session.close();
      await targetLink.close();
      owned?.close();
    },
  };
}
