import type { Observable } from 'rxjs';
import type { VmkdError } from './errors.js';
import type { PacketLink } from './packet-link.js';
import type { TargetBackend } from './target-backend.js';

/**
 * The seam between `@vmkd/connect` (one URI grammar, a registry of schemes) and the packages that
 * implement transports and endpoints. Types only, like `packet-link.ts`: a transport package
 * exports a provider object of one of these shapes and never imports `connect`; `connect` imports
 * the provider and registers it in one line (docs/adding-a-scheme.md walks through an example).
 */

/**
 * A URI already split and checked by `connect` (scheme known, no fragment, no user information,
 * no repeated query key), with helpers that raise the grammar's one error, `ERR_CLI_BAD_URI`
 * (exit status 2 in the CLI), naming the URI and the reason.
 */
export interface SchemeUri {
  /** The URI as written. */
  readonly text: string;
  /** Lower case, without the colon: `serial+tcp`, `kdnet`, `sim`. */
  readonly scheme: string;
  readonly url: URL;
  /**
   * The query, minus the keys of registered guest options (`connect` hands those to the option's
   * provider), so a scheme's `keys()` check never trips over them.
   */
  readonly query: ReadonlyMap<string, string>;
  /** The error to throw for anything else wrong with this URI. */
  bad(reason: string): VmkdError;
  /** Refuse query keys outside `allowed`. */
  keys(allowed: readonly string[]): void;
  /** A query value, if given. */
  string(key: string): string | undefined;
  /** A query value that must be one of `values`. */
  choice<T extends string>(key: string, values: readonly T[], fallback: T): T;
  /** A whole-number query value in `min..max`. */
  integer(key: string, fallback: number, min: number, max: number): number;
  /** `//HOST:PORT` with no path. Port 0 only when `allowPortZero` (a listener picks a free port). */
  tcpAddress(options?: { readonly allowPortZero?: boolean; readonly defaultPort?: number }): { readonly host: string; readonly port: number };
  /** `scheme:relative/path` or `scheme:///absolute/path`, percent-decoded, within sun_path's size. */
  unixPath(): string;
  /** `scheme://./pipe/NAME` (or `//SERVER/pipe/NAME`) in Win32 form, `\\.\pipe\NAME`. */
  pipePath(): string;
}

/** What the caller allowed, in so many words. */
export interface OpenContext {
  /** Listeners may bind addresses other machines reach (the CLI's `--allow-remote`). */
  readonly allowRemote: boolean;
}

/** A printable line that attaches a debugger to an endpoint. */
export interface DebuggerCommandLine {
  /** `windbg`, `kd`, `radare2`, `gdb`, `lldb`, … */
  readonly debugger: string;
  readonly command: string;
  /** A caveat worth printing next to the line. */
  readonly note?: string;
}

/** Facts about an embedded virtual kernel behind a `sim://` guest, for tests and the bench. */
export interface SimFacts {
  /** The kernel's data region: formula content, safe to read and verify. */
  readonly dataRegion: { readonly virtualBase: bigint; readonly size: bigint };
  /** The target itself when it runs in this process. */
  readonly backend?: TargetBackend;
  /** The process the target runs in when it is not this one. */
  readonly childPid?: number;
}

/** A debugger an endpoint turned away. */
export interface RefusedPeer {
  readonly peer: string;
}

/** One UDP datagram of a transport's own wire. `in`: received by vmkd; `out`: sent by it. */
export interface WireDatagram {
  readonly direction: 'in' | 'out';
  readonly from: { readonly address: string; readonly port: number };
  readonly to: { readonly address: string; readonly port: number };
  readonly bytes: Uint8Array;
}

/**
 * Anything `connect` opens: a guest transport, an endpoint, or vmkd's own debugger connection.
 *
 * `link.events$` holds what arrives before its first subscriber and delivers it asynchronously
 * once subscribed (`connect` sees to that for every provider), so a caller may await other things
 * between opening and routing without losing a `connect` or a first state change.
 */
export interface OpenedLink {
  /** Guests: target-facing. Endpoints: debugger-facing. `connectDebugger`: target-facing. */
  readonly link: PacketLink;
  /** One line for status output: what it is and where. */
  readonly description: string;
  /** Where peers attach, as a URI with ephemeral ports resolved (endpoints, listening guests). */
  readonly address?: string;
  /** Endpoints: command lines that attach a debugger to `address`. */
  readonly debuggerCommands?: readonly DebuggerCommandLine[];
  /** Things worth telling a user that are not link events (retries, refused peers), as lines. */
  readonly notices$: Observable<string>;
  /**
   * Endpoints that take one debugger at a time: each newcomer turned away while one is attached
   * (`peer` names it). The router records who held the endpoint and since when (issue 16 item 7).
   */
  readonly refused$?: Observable<RefusedPeer>;
  /**
   * Datagram transports (KDNET): every UDP datagram sent or received, as it is on the wire, for
   * traces (`vmkd route --trace-bytes`). Hot: only what arrives while subscribed.
   */
  readonly datagrams$?: Observable<WireDatagram>;
  /** Bytes on the transport's own wire so far (frames, RPC bodies), when it differs from link.stats(). */
  wireBytes?(): number;
  /** Set by `sim://` guests. */
  readonly sim?: SimFacts;
  /** Closes the link and everything behind it (listeners, in-process targets, children). Idempotent. */
  close(): Promise<void>;
}

/** A guest scheme (`serial+tcp`, `kdrpc+proxyunix`, `kdnet`): where a kernel's debug traffic comes from. */
export interface GuestSchemeProvider<Spec = unknown> {
  /** Lower case, without the colon. One provider per scheme. */
  readonly scheme: string;
  /** One line for `--help` and `vmkd doctor`. */
  readonly summary: string;
  /** A URI that works, for help text and docs. */
  readonly example: string;
  /** The platforms it runs on; omitted means all. */
  readonly platforms?: readonly string[];
  /** Pure: validate and turn the URI into the provider's own spec. Throws `uri.bad(…)`. */
  parse(uri: SchemeUri): Spec;
  /** Open it: a target-facing PacketLink toward the guest. */
  open(spec: Spec, context: OpenContext): Promise<OpenedLink>;
}

/**
 * An endpoint scheme (`tcp`, `unix`, `pipe`, `kdnet`, `gdb`): where debuggers attach. `open`
 * returns the debugger-facing PacketLink the router serves; its far end may be a KDCOM byte
 * listener, a KDNET socket, or a whole debugger server (a GDB RSP server over a DebuggerSession).
 */
export interface EndpointSchemeProvider<Spec = unknown> {
  readonly scheme: string;
  readonly summary: string;
  readonly example: string;
  readonly platforms?: readonly string[];
  parse(uri: SchemeUri): Spec;
  open(spec: Spec, context: OpenContext): Promise<OpenedLink>;
  /**
   * vmkd's own debugger attaching to such an endpoint from outside: a target-facing PacketLink to
   * the address (`connectDebugger(uri)`). Omitted where vmkd's KD debugger is not a client of the
   * endpoint's protocol (a GDB RSP endpoint).
   */
  connect?(spec: Spec, context: OpenContext): Promise<OpenedLink>;
}

/** The embedded virtual kernel as a `sim://` guest is configured (`build=`, `memory=`, `cpus=`). */
export interface SimSetup {
  readonly build: string;
  /** Bytes of physical memory. */
  readonly memory: number;
  readonly cpus: number;
  /** DbgPrint interval of the kernel in ms (0 = none), when the URI set one (`prints=`). */
  readonly printIntervalMs?: number;
  /**
   * The kernel's RAM as a file (`ram=PATH`): byte pa at offset pa, kept in step with every write.
   * A variant that runs the kernel in another process must pass it on, so any variant can back a
   * memory source.
   */
  readonly ramFile?: string;
  /** E.g. `virtual Windows 10 1903 x64 (build 18362), 256 MiB, 1 CPU`. */
  readonly description: string;
  /** A fresh in-process target for these settings; the caller closes it. */
  createTarget(): { readonly backend: TargetBackend; readonly dataRegion: SimFacts['dataRegion']; close(): void };
}

/**
 * How a `sim://` guest reaches its virtual kernel: `sim://?via=serial`, `via=kdrpc`, `via=kdnet`.
 * The variant builds the guest half around a target (usually `setup.createTarget()`) and returns the
 * target-facing link, exactly as a real transport toward a real guest would.
 */
export interface SimVariantProvider<Spec = unknown> {
  /** The `via=` value. */
  readonly via: string;
  readonly summary: string;
  /** Query keys this variant takes besides sim's own (`build`, `memory`, `cpus`, `via`). */
  readonly keys: readonly string[];
  parse(uri: SchemeUri): Spec;
  open(spec: Spec, setup: SimSetup, context: OpenContext): Promise<OpenedLink>;
}

/**
 * A query option any guest URI may carry (`?memory=file:/dev/shm/vm.ram`): a decorator that wraps
 * the opened guest, e.g. in a fast path that answers some requests itself.
 */
export interface GuestOptionProvider<Value = unknown> {
  /** The query key. It must not be one a scheme already uses for something else. */
  readonly key: string;
  readonly summary: string;
  /** Guest schemes it applies to (`sim` included); omitted means every guest scheme but `sim`. */
  readonly schemes?: readonly string[];
  parse(value: string, uri: SchemeUri): Value;
  /** Wrap the opened guest; the result's close() must close `opened` too. */
  wrap(opened: OpenedLink, value: Value, context: OpenContext): Promise<OpenedLink>;
}
