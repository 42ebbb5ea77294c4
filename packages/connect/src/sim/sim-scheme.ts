import type { GuestSchemeProvider, OpenContext, OpenedLink, SchemeUri, SimVariantProvider } from '@vmkd/kd-protocol';
import { memoryGuestOption } from '@vmkd/vmm-memory';
import { parseByteSize } from '../uri/parse-values.js';
import { DEFAULT_SIM_OPTIONS, SIM_BUILD_CHOICES, simSetup, type GivenSimTarget, type SimOptions } from './sim-setup.js';

/** Keys every `sim://` URI takes, whatever its `via=`. */
const SIM_KEYS = ['via', 'build', 'memory', 'cpus', 'prints', 'ram'] as const;

/** A parsed `sim://` URI: the kernel's settings, the variant and the variant's own spec. */
export interface SimGuestSpec {
  readonly kind: 'sim';
  readonly uri: string;
  readonly via: string;
  readonly sim: SimOptions;
  /** DbgPrint interval of the virtual kernel in ms (0 = none); the default prints every second. */
  readonly printIntervalMs?: number;
  /** What the variant parsed from its own keys (`baud`, `backdoor`, …), spread in. */
  readonly [variantKey: string]: unknown;
}

/** What `connect` passes to the sim scheme besides the caller's permissions. */
export interface SimOpenContext extends OpenContext {
  readonly simTarget?: GivenSimTarget;
}

function simOptions(uri: SchemeUri): SimOptions {
  const build = uri.choice<string>('build', SIM_BUILD_CHOICES, DEFAULT_SIM_OPTIONS.build);
  const cpus = uri.integer('cpus', DEFAULT_SIM_OPTIONS.cpus, 1, 64);
  const memoryText = uri.string('memory');
  let memory = DEFAULT_SIM_OPTIONS.memory;
  if (memoryText !== undefined) {
    try {
      memory = parseByteSize('memory', memoryText);
    } catch (error) {
      throw uri.bad(error instanceof Error ? error.message : String(error));
    }
  }
  const ramFile = uri.string('ram');
  if (ramFile === '') throw uri.bad('ram= needs a file path');
  return ramFile === undefined ? { build, memory, cpus } : { build, memory, cpus, ramFile };
}

/**
 * `sim://?via=NAME&…`: the embedded virtual kernel behind one of the registered variants
 * (`serial`, `kdrpc`, and whatever else registers a `via=`). Each variant owns its query keys; a
 * key that belongs to another variant is refused with the variant it applies to.
 */
export function createSimGuestScheme(variants: ReadonlyMap<string, SimVariantProvider>, defaultVia = 'serial'): GuestSchemeProvider<SimGuestSpec> {
  return {
    scheme: 'sim',
    summary: 'the embedded virtual kernel',
    example: 'sim://?via=serial&baud=115200',
    parse(uri) {
      const { url } = uri;
      if (url.host !== '' || (url.pathname !== '' && url.pathname !== '/')) {
        throw uri.bad('sim: takes only a query, e.g. sim://?via=serial&baud=115200');
      }
      const allKeys = new Set<string>(SIM_KEYS);
      for (const variant of variants.values()) for (const key of variant.keys) allKeys.add(key);
      uri.keys([...allKeys]);
      const via = uri.choice('via', [...variants.keys()], defaultVia);
      const variant = variants.get(via)!;
      for (const key of uri.query.keys()) {
        if ((SIM_KEYS as readonly string[]).includes(key) || variant.keys.includes(key)) continue;
        const owners = [...variants.values()].filter((v) => v.keys.includes(key)).map((v) => `via=${v.via}`);
        throw uri.bad(`${key}= applies only to ${owners.join(' or ')}`);
      }
      const prints = uri.string('prints') === undefined ? undefined : uri.integer('prints', 1000, 0, 86_400_000);
      const own = variant.parse(uri) as object;
      return {
        ...own,
        kind: 'sim',
        uri: uri.text,
        via,
        sim: simOptions(uri),
        ...(prints === undefined ? {} : { printIntervalMs: prints }),
      };
    },
    async open(spec, context: SimOpenContext): Promise<OpenedLink> {
      const variant = variants.get(spec.via);
      if (variant === undefined) throw new Error(`sim variant ${spec.via} is not registered`);
      const setup = simSetup(spec.sim, context.simTarget, spec.printIntervalMs === undefined ? {} : { printIntervalMs: spec.printIntervalMs });
      const opened = await variant.open(spec, setup, context);
      if (spec.sim.ramFile === undefined || context.simTarget !== undefined) return opened;
      // The kernel's RAM file is its memory source: the whole fast path, as with a real hypervisor.
      try {
        return await memoryGuestOption.wrap(opened, { kind: 'file', path: spec.sim.ramFile }, context);
      } catch (error) {
        await opened.close();
        throw error;
      }
    },
  };
}
