import { createDebuggerSession, VmkdError, type DebuggerSession, type OpenContext, type OpenedLink } from '@vmkd/kd-protocol';
import { ConnectErrorCode } from './errors.js';
import { holdEventsUntilSubscribed } from './hold-events.js';
import { guestOptionsFor, type SchemeRegistry } from './registry.js';
import { defaultRegistry } from './schemes.js';
import type { GivenSimTarget } from './sim/sim-setup.js';
import { schemeOf, splitUri } from './uri/scheme-uri.js';

export interface OpenOptions {
  /** Listeners may bind addresses other machines reach (the CLI's `--allow-remote`). Default false. */
  readonly allowRemote?: boolean;
  /** Default: every scheme vmkd ships (`defaultRegistry`). */
  readonly registry?: SchemeRegistry;
}

export interface OpenGuestOptions extends OpenOptions {
  /** For `sim://`: serve this running kernel instead of a fresh one (it is lent, not closed). */
  readonly simTarget?: GivenSimTarget;
}

/** A parsed URI: the provider's own spec (it always carries `uri`). */
export type ParsedUri = { readonly uri: string } & Readonly<Record<string, unknown>>;

function parseGuest(text: string, registry: SchemeRegistry) {
  const scheme = schemeOf(text);
  const options = scheme === undefined ? [] : guestOptionsFor(registry, scheme);
  const uri = splitUri(text, 'guest', [...registry.guests.keys()], new Set(options.map((o) => o.key)));
  const provider = registry.guests.get(uri.scheme)!;
  const spec = provider.parse(uri);
  const given = options.flatMap((option) => {
    const value = uri.url.searchParams.get(option.key);
    return value === null ? [] : [{ option, value: option.parse(value, uri) }];
  });
  return { provider, spec, given };
}

/**
 * Parses where the guest's debug traffic comes from, without opening anything: a typo costs
 * nothing. Returns the scheme provider's spec; throws `ERR_CLI_BAD_URI` naming the problem.
 */
export function parseGuestUri(text: string, registry: SchemeRegistry = defaultRegistry): ParsedUri {
  return parseGuest(text, registry).spec as ParsedUri;
}

/** Parses where debuggers attach, without opening anything. */
export function parseEndpointUri(text: string, registry: SchemeRegistry = defaultRegistry): ParsedUri {
  const uri = splitUri(text, 'endpoint', [...registry.endpoints.keys()]);
  return registry.endpoints.get(uri.scheme)!.parse(uri) as ParsedUri;
}

function contextOf(options: OpenOptions): OpenContext {
  return { allowRemote: options.allowRemote === true };
}

function held(opened: OpenedLink): OpenedLink {
  return { ...opened, link: holdEventsUntilSubscribed(opened.link) };
}

/** Opens the guest a URI names: a target-facing link for the router, plus what to tell the user. */
export async function openGuest(text: string, options: OpenGuestOptions = {}): Promise<OpenedLink> {
  const { provider, spec, given } = parseGuest(text, options.registry ?? defaultRegistry);
  const context = { ...contextOf(options), ...(options.simTarget === undefined ? {} : { simTarget: options.simTarget }) };
  let opened = await provider.open(spec, context);
  for (const { option, value } of given) {
    try {
      opened = await option.wrap(opened, value, context);
    } catch (error) {
      await opened.close();
      throw error;
    }
  }
  return held(opened);
}

/** Opens the endpoint a URI names: a debugger-facing link for the router, where debuggers attach and how. */
export async function openEndpoint(text: string, options: OpenOptions = {}): Promise<OpenedLink> {
  const registry = options.registry ?? defaultRegistry;
  const uri = splitUri(text, 'endpoint', [...registry.endpoints.keys()]);
  const provider = registry.endpoints.get(uri.scheme)!;
  return held(await provider.open(provider.parse(uri), contextOf(options)));
}

export interface ConnectDebuggerOptions extends OpenOptions {
  /** The session's per-request timeout. Default 10 000 ms. */
  readonly timeoutMs?: number;
}

/** vmkd's own debugger attached to an endpoint: the link, and the session running on it. */
export interface DebuggerConnection extends OpenedLink {
  readonly session: DebuggerSession;
}

/** Connects vmkd's DebuggerSession to an endpoint URI (`tcp://…`, `unix:…`, `pipe://…`). */
export async function connectDebugger(text: string, options: ConnectDebuggerOptions = {}): Promise<DebuggerConnection> {
  const registry = options.registry ?? defaultRegistry;
  const uri = splitUri(text, 'endpoint', [...registry.endpoints.keys()]);
  const provider = registry.endpoints.get(uri.scheme)!;
  if (provider.connect === undefined) {
    throw new VmkdError(ConnectErrorCode.NoDebuggerClient, `${uri.scheme}: endpoints speak a protocol vmkd's KD debugger is not a client of`, {
      details: { uri: text },
    });
  }
  const opened = await provider.connect(provider.parse(uri), contextOf(options));
  const session = createDebuggerSession(opened.link, { timeoutMs: options.timeoutMs ?? 10_000 });
  return {
    ...opened,
    session,
    async close() {
      await session.close();
      await opened.close();
    },
  };
}
