import type { SimSetup } from '@vmkd/kd-protocol';
import { buildNames, buildProfile, createSimTarget, isBuildName, type BuildName } from '@vmkd/sim-target';

/**
 * Short names accepted besides sim-target's full build names. `win10` is the Windows 10 kernel
 * every KD client vmkd is tried with has a profile for (radare2 6.2.1 knows x64 builds 7601,
 * 14393, 17134 and 18362 only, by exact match): 1903, build 18362. Newer kernels are one
 * `build=` away (`build=19041`); docs/decisions/0031-default-sim-build-18362.md says why.
 */
const NAMED_ALIASES: Readonly<Record<string, BuildName>> = { win7: 'win7-sp1-x64', win10: 'win10-1903-x64' };

/** Each build by its number too (`build=18362`, `--build 19041`): the number a debugger shows. */
const NUMBER_ALIASES: Readonly<Record<string, BuildName>> = Object.fromEntries(buildNames.map((name) => [String(buildProfile(name).buildNumber), name]));

const BUILD_ALIASES: Readonly<Record<string, BuildName>> = { ...NUMBER_ALIASES, ...NAMED_ALIASES };

/** Every value `--build` and `build=` accept: the short names, the full names, the build numbers. */
export const SIM_BUILD_CHOICES: readonly string[] = [...Object.keys(NAMED_ALIASES), ...buildNames, ...Object.keys(NUMBER_ALIASES)];

/** The virtual kernel's own settings (shared by `sim://` and `vmkd sim`). */
export interface SimOptions {
  /** `win7`, `win10`, a build number (`18362`, `19041`, …) or one of @vmkd/sim-target's build names (`win10-2004-x64`, …). */
  readonly build: string;
  /** Bytes of physical memory. */
  readonly memory: number;
  readonly cpus: number;
  /** Expose the kernel's RAM as this file (`ram=PATH`, `vmkd sim --ram-file`): byte pa at offset pa. */
  readonly ramFile?: string;
}

/** `win10` is build 18362 (see NAMED_ALIASES): the default kernel every tested KD client can attach. */
export const DEFAULT_SIM_OPTIONS: SimOptions = { build: 'win10', memory: 256 * 1024 * 1024, cpus: 1 };

export function resolveBuild(build: string): BuildName | undefined {
  const resolved = Object.hasOwn(BUILD_ALIASES, build) ? BUILD_ALIASES[build] : build;
  return isBuildName(resolved) ? resolved : undefined;
}

/** The embedded virtual kernel with these options. */
export function createSimBackend(options: SimOptions, extra: { readonly printIntervalMs?: number } = {}): ReturnType<typeof createSimTarget> {
  const build = resolveBuild(options.build) ?? 'win7-sp1-x64';
  return createSimTarget({ build, memorySize: options.memory, cpus: options.cpus, ...(options.ramFile === undefined ? {} : { ramFile: options.ramFile }), ...extra });
}

export function describeSim(options: SimOptions): string {
  const build = resolveBuild(options.build);
  const name = build === undefined ? options.build : `${buildProfile(build).displayName} (build ${buildProfile(build).buildNumber})`;
  const mib = options.memory / (1024 * 1024);
  const size = mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
  return `virtual ${name}, ${size}, ${options.cpus} CPU${options.cpus === 1 ? '' : 's'}${options.ramFile === undefined ? '' : `, RAM in ${options.ramFile}`}`;
}

/** A target already running that a `sim://` guest serves instead of a fresh one (the demo shows one kernel over two paths). */
export interface GivenSimTarget {
  readonly backend: ReturnType<SimSetup['createTarget']>['backend'];
  readonly dataRegion: ReturnType<SimSetup['createTarget']>['dataRegion'];
}

/** The SimSetup a variant gets. A given target is lent, never closed. */
export function simSetup(options: SimOptions, given?: GivenSimTarget, extra: { readonly printIntervalMs?: number } = {}): SimSetup {
  return {
    ...options,
    ...(extra.printIntervalMs === undefined ? {} : { printIntervalMs: extra.printIntervalMs }),
    description: describeSim(options),
    createTarget() {
      if (given !== undefined) return { backend: given.backend, dataRegion: given.dataRegion, close: () => undefined };
      const sim = createSimBackend(options, extra);
      return { backend: sim, dataRegion: sim.layout.dataRegion, close: () => sim.close() };
    },
  };
}
