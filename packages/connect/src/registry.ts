import { VmkdError, type EndpointSchemeProvider, type GuestOptionProvider, type GuestSchemeProvider, type SimVariantProvider } from '@vmkd/kd-protocol';
import { ConnectErrorCode } from './errors.js';

/**
 * Which scheme means what. Registration order is the order schemes are listed in help text and
 * error messages. A registry is built once (see `schemes.ts`); tests build their own.
 */
export interface SchemeRegistry {
  readonly guests: ReadonlyMap<string, GuestSchemeProvider>;
  readonly endpoints: ReadonlyMap<string, EndpointSchemeProvider>;
  readonly simVariants: ReadonlyMap<string, SimVariantProvider>;
  readonly guestOptions: ReadonlyMap<string, GuestOptionProvider>;
  /** Add a guest scheme (`serial+tcp`, `kdnet`, …). */
  guest(provider: GuestSchemeProvider): this;
  /** Add an endpoint scheme (`tcp`, `gdb`, …). */
  endpoint(provider: EndpointSchemeProvider): this;
  /** Add a `sim://?via=` variant. */
  simVariant(provider: SimVariantProvider): this;
  /** Add a query option every (or some) guest URI may carry. */
  guestOption(provider: GuestOptionProvider): this;
}

function add<T>(map: Map<string, T>, key: string, value: T, what: string): void {
  if (map.has(key)) {
    throw new VmkdError(ConnectErrorCode.DuplicateScheme, `${what} "${key}" is registered twice`, { details: { what, key } });
  }
  map.set(key, value);
}

export function createSchemeRegistry(): SchemeRegistry {
  const guests = new Map<string, GuestSchemeProvider>();
  const endpoints = new Map<string, EndpointSchemeProvider>();
  const simVariants = new Map<string, SimVariantProvider>();
  const guestOptions = new Map<string, GuestOptionProvider>();
  const registry: SchemeRegistry = {
    guests,
    endpoints,
    simVariants,
    guestOptions,
    guest(provider) {
      add(guests, provider.scheme, provider, 'guest scheme');
      return registry;
    },
    endpoint(provider) {
      add(endpoints, provider.scheme, provider, 'endpoint scheme');
      return registry;
    },
    simVariant(provider) {
      add(simVariants, provider.via, provider, 'sim variant');
      return registry;
    },
    guestOption(provider) {
      add(guestOptions, provider.key, provider, 'guest option');
      return registry;
    },
  };
  return registry;
}

/** The guest options that apply to a scheme. */
export function guestOptionsFor(registry: SchemeRegistry, scheme: string): GuestOptionProvider[] {
  return [...registry.guestOptions.values()].filter((option) =>
    option.schemes === undefined ? scheme !== 'sim' : option.schemes.includes(scheme),
  );
}
