/**
 * The worked example of docs/adding-a-scheme.md, kept compiling and tested: a guest scheme, an
 * endpoint scheme and a guest option, each the provider a transport package would export.
 */
import { EMPTY, Subject, filter } from 'rxjs';
import {
  createMemoryPacketPair,
  createTargetSession,
  type EndpointSchemeProvider,
  type GuestOptionProvider,
  type GuestSchemeProvider,
  type OpenedLink,
  type PacketLink,
} from '@vmkd/kd-protocol';
import { createSimTarget } from '@vmkd/sim-target';

/** `memsim://?cpus=N`: a virtual kernel behind an in-memory packet pair. */
export interface MemsimSpec {
  readonly uri: string;
  readonly cpus: number;
}

export const memsimGuestScheme: GuestSchemeProvider<MemsimSpec> = {
  scheme: 'memsim',
  summary: 'a virtual kernel behind an in-memory packet pair',
  example: 'memsim://?cpus=2',
  parse(uri) {
    uri.keys(['cpus']);
    if (uri.url.host !== '') throw uri.bad('memsim: takes only a query');
    return { uri: uri.text, cpus: uri.integer('cpus', 1, 1, 64) };
  },
  open(spec): Promise<OpenedLink> {
    const [targetFacing, debuggerFacing] = createMemoryPacketPair({ names: ['memsim:debugger', 'memsim:target'] });
    const sim = createSimTarget({ cpus: spec.cpus, printIntervalMs: 0 });
    const session = createTargetSession(debuggerFacing, sim);
    return Promise.resolve({
      link: targetFacing,
      description: `virtual kernel with ${spec.cpus} CPU(s) behind an in-memory pair`,
      notices$: EMPTY,
      sim: { dataRegion: sim.layout.dataRegion, backend: sim },
      async close() {
        await targetFacing.close();
        await session.close();
        await debuggerFacing.close();
        sim.close();
      },
    });
  },
};

/** `mem://NAME`: an endpoint whose far end is handed to whoever asks for NAME (an in-process debugger). */
export const memEndpoints = new Map<string, PacketLink>();

export const memEndpointScheme: EndpointSchemeProvider<{ readonly uri: string; readonly name: string }> = {
  scheme: 'mem',
  summary: 'an in-process endpoint',
  example: 'mem://bench',
  parse(uri) {
    uri.keys([]);
    if (uri.url.hostname === '') throw uri.bad('name the endpoint: mem://NAME');
    return { uri: uri.text, name: uri.url.hostname };
  },
  open(spec): Promise<OpenedLink> {
    const [debuggerSide, endpointSide] = createMemoryPacketPair({ names: [`mem:${spec.name}:debugger`, `mem:${spec.name}`] });
    memEndpoints.set(spec.name, debuggerSide);
    return Promise.resolve({
      link: endpointSide,
      description: `in-process endpoint ${spec.name}`,
      address: spec.uri,
      debuggerCommands: [{ debugger: 'vmkd', command: `memEndpoints.get('${spec.name}')` }],
      notices$: EMPTY,
      async close() {
        memEndpoints.delete(spec.name);
        await endpointSide.close();
        await debuggerSide.close();
      },
    });
  },
};

/** `?count=1` on any guest: a decorator that reports every packet from the guest as a notice. */
export const countGuestOption: GuestOptionProvider<boolean> = {
  key: 'count',
  summary: 'report packets from the guest as notices',
  schemes: ['memsim', 'sim'],
  parse(value, uri) {
    if (value !== '1' && value !== '0') throw uri.bad(`count=${value} is not 0 or 1`);
    return value === '1';
  },
  wrap(opened, enabled): Promise<OpenedLink> {
    if (!enabled) return Promise.resolve(opened);
    const notices = new Subject<string>();
    let packets = 0;
    const counting = opened.link.events$.pipe(filter((event) => event.kind === 'packet')).subscribe(() => {
      packets += 1;
      notices.next(`${packets} packet(s) from the guest`);
    });
    return Promise.resolve({
      ...opened,
      notices$: notices.asObservable(),
      async close() {
        counting.unsubscribe();
        notices.complete();
        await opened.close();
      },
    });
  },
};
