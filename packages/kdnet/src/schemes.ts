import { EMPTY, Observable, Subject } from 'rxjs';
import type { EndpointSchemeProvider, GuestSchemeProvider, OpenedLink, SchemeUri, SimVariantProvider, WireDatagram } from '@vmkd/kd-protocol';
import { randomBytes } from 'node:crypto';
import type { UdpAddress } from './control.js';
import { parseKdnetKey, randomKdnetKeyText } from './key.js';
import { createKdnetEndpointLink, createKdnetGuestLink, hostPort, type DatagramTap, type KdnetLink } from './kdnet-link.js';
import { openTargetOverKdnet } from './target-over-kdnet.js';
import { KDNET_ENDPOINT_MAX_REPLY } from './read-cap.js';

/** Windows's usual KDNET port (any of 49152–65535 works). */
export const KDNET_DEFAULT_PORT = 50000;

export interface KdnetGuestSpec {
  readonly uri: string;
  readonly listen: UdpAddress;
  readonly key: string;
}

export interface KdnetEndpointSpec {
  readonly uri: string;
  /** The debugger's address: WinDbg listens there (`-k net:port=P`). */
  readonly debugger: UdpAddress;
  /** Ours; port 0 = any free port. */
  readonly bind?: UdpAddress;
  readonly key: string;
  /** True when the URI gave no key and one was generated (printed with the debugger commands). */
  readonly generatedKey: boolean;
}

function keyOf(uri: SchemeUri, required: boolean): { key: string; generated: boolean } {
  const text = uri.string('key');
  if (text === undefined) {
    if (required) throw uri.bad('give the KDNET key: ?key=w.x.y.z (the key:… of bcdedit /dbgsettings net)');
    return { key: randomKdnetKeyText((n) => new Uint8Array(randomBytes(n))), generated: true };
  }
  try {
    return { key: parseKdnetKey(text).text, generated: false };
  } catch (error) {
    throw uri.bad((error as Error).message);
  }
}

function udpOf(uri: SchemeUri, allowPortZero: boolean): UdpAddress {
  const { host, port } = uri.tcpAddress({ allowPortZero, defaultPort: KDNET_DEFAULT_PORT });
  return { address: host.replace(/^\[(.*)\]$/, '$1'), port };
}

function bindOf(uri: SchemeUri): UdpAddress | undefined {
  const text = uri.string('bind');
  if (text === undefined) return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (m === null) throw uri.bad(`bind=${text} is not HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw uri.bad(`bind=${text}: port out of range`);
  return { address: m[1] ?? m[2], port };
}

/** Datagrams kept from a link's start until the first subscriber: the poke/response come first. */
const HELD_DATAGRAMS = 64;

/**
 * Every datagram of a link, for `OpenedLink.datagrams$` (`vmkd route --trace-bytes`). The tap is
 * given to the link at creation. The first datagrams (the poke and response whose nonces make
 * the data key, kd-protocol.md §3) pass before anybody can subscribe, so the first
 * HELD_DATAGRAMS are kept for the first subscriber; after that only a subscriber sees them.
 */
function wireTap(): { readonly tap: DatagramTap; readonly datagrams$: Observable<WireDatagram> } {
  const datagrams = new Subject<WireDatagram>();
  let held: WireDatagram[] | undefined = [];
  return {
    tap: (bytes, from, to, direction) => {
      // The link may reuse its buffer: copy only when the datagram is kept.
      if (held !== undefined) {
        if (held.length < HELD_DATAGRAMS) held.push({ direction, from, to, bytes: new Uint8Array(bytes) });
      } else if (datagrams.observed) datagrams.next({ direction, from, to, bytes: new Uint8Array(bytes) });
    },
    datagrams$: new Observable<WireDatagram>((subscriber) => {
      const subscription = datagrams.subscribe(subscriber);
      const first = held ?? [];
      held = undefined;
      for (const datagram of first) subscriber.next(datagram);
      return subscription;
    }),
  };
}

function opened(link: KdnetLink, description: string, address: string, extra: Partial<OpenedLink> = {}): OpenedLink {
  return {
    link,
    description,
    address,
    notices$: EMPTY,
    wireBytes: () => link.stats().bytesIn + link.stats().bytesOut,
    close: () => link.close(),
    ...extra,
  };
}

/**
 * `kdnet://ADDRESS:PORT?key=w.x.y.z`: a Windows guest's `kdnet.dll` (bcdedit `hostip:ADDRESS
 * port:PORT key:…`) debugged with vmkd as the debugger host. Listens where the guest pokes;
 * loopback unless --allow-remote (a VM's host address is not loopback, so real guests need it).
 */
export const kdnetGuestScheme: GuestSchemeProvider<KdnetGuestSpec> = {
  scheme: 'kdnet',
  summary: "a Windows guest's KDNET (kdnet.dll over UDP), vmkd as the debugger host",
  example: 'kdnet://127.0.0.1:50000?key=1.2.3.4',
  parse(uri) {
    uri.keys(['key']);
    return { uri: uri.text, listen: udpOf(uri, true), key: keyOf(uri, true).key };
  },
  async open(spec, context) {
    const { tap, datagrams$ } = wireTap();
    const link = await createKdnetGuestLink({ key: spec.key, listen: spec.listen, allowRemote: context.allowRemote, tap });
    const where = `kdnet://${hostPort(link.local)}`;
    return opened(link, `KDNET guest: waiting for the target's pokes on udp://${hostPort(link.local)}`, where, { datagrams$ });
  },
};

/**
 * `kdnet://HOST:PORT?key=w.x.y.z`: an endpoint for a KDNET debugger listening at HOST:PORT
 * (WinDbg `-k net:port=PORT,key=…`); vmkd plays the target and pokes it. `bind=ADDR:PORT` sets our
 * own address (radare2 expects the target at the port it connects to).
 */
export const kdnetEndpointScheme: EndpointSchemeProvider<KdnetEndpointSpec> = {
  scheme: 'kdnet',
  summary: 'a KDNET target for WinDbg -k net: or radare2 winkd:// (vmkd pokes the debugger)',
  example: 'kdnet://127.0.0.1:50000?key=1.2.3.4',
  parse(uri) {
    uri.keys(['key', 'bind']);
    const { key, generated } = keyOf(uri, false);
    const bind = bindOf(uri);
    return { uri: uri.text, debugger: udpOf(uri, false), key, generatedKey: generated, ...(bind === undefined ? {} : { bind }) };
  },
  async open(spec, context) {
    const { tap, datagrams$ } = wireTap();
    // Replies any KDNET debugger takes, whatever the guest behind answers (radare2: 2,048 bytes at most).
    const link = await createKdnetEndpointLink({
      key: spec.key,
      debugger: spec.debugger,
      bind: spec.bind,
      allowRemote: context.allowRemote,
      tap,
      maxReplyPayload: KDNET_ENDPOINT_MAX_REPLY,
    });
    const port = spec.debugger.port;
    const target = hostPort(link.local);
    return opened(link, `KDNET endpoint: poking the debugger at udp://${hostPort(spec.debugger)} from udp://${target}`, `kdnet://${hostPort(spec.debugger)}?key=${spec.key}`, {
      datagrams$,
      debuggerCommands: [
        { debugger: 'windbg', command: `windbg -k net:port=${port},key=${spec.key}`, note: `WinDbg listens on UDP ${port}; vmkd pokes it from ${target}` },
        { debugger: 'kd', command: `kd -k net:port=${port},key=${spec.key}` },
        {
          debugger: 'radare2',
          command: `r2 -a x86 -b 64 -D winkd winkd://${link.local.address.includes(':') ? `[${link.local.address}]` : link.local.address}:${port}:${spec.key}`,
          note: `radare2 binds UDP ${port} itself and expects the target at port ${port}: give the endpoint bind=ADDRESS:${port} on another address or machine`,
        },
      ],
    });
  },
  async connect(spec, context) {
    // vmkd's own debugger toward such an endpoint: the debugger-host role, listening where it is poked.
    const link = await createKdnetGuestLink({ key: spec.key, listen: spec.debugger, allowRemote: context.allowRemote });
    return opened(link, `KDNET debugger host on udp://${hostPort(link.local)}`, `kdnet://${hostPort(link.local)}`);
  },
};

/** `sim://?via=kdnet[&key=w.x.y.z]`: the virtual kernel behind vmkd's KDNET target role on loopback UDP. */
export const kdnetSimVariant: SimVariantProvider<{ readonly key?: string }> = {
  via: 'kdnet',
  summary: 'behind KDNET (AES-256, HMAC) over loopback UDP',
  keys: ['key'],
  parse(uri) {
    const text = uri.string('key');
    return text === undefined ? {} : { key: keyOf(uri, true).key };
  },
  async open(spec, setup) {
    const target = setup.createTarget();
    try {
      const { tap, datagrams$ } = wireTap();
      const pair = await openTargetOverKdnet(target.backend, { tap, ...(spec.key === undefined ? {} : { key: spec.key }) });
      return {
        link: pair.link,
        // The key is named: without it a trace of these datagrams cannot be decrypted.
        description: `${setup.description} behind KDNET over loopback UDP (udp://${hostPort(pair.link.local)}, key ${pair.key})`,
        address: `kdnet://${hostPort(pair.link.local)}`,
        notices$: EMPTY,
        datagrams$,
        wireBytes: () => pair.link.stats().bytesIn + pair.link.stats().bytesOut,
        sim: { dataRegion: target.dataRegion, backend: target.backend },
        async close() {
          await pair.close();
          target.close();
        },
      };
    } catch (error) {
      target.close();
      throw error;
    }
  },
};
