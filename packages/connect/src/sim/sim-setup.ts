import type { SimSetup } from '@vmkd/kd-protocol';
import { buildNames, buildProfile, createSimTarget, isBuildName, type BuildName } from '@vmkd/sim-target';

/** Short names accepted besides sim-target's full build names. */
const BUILD_ALIASES: Readonly<Record<string, BuildName>> = { win7: 'win7-sp1-x64', win10: 'win10-2004-x64' };

/** Every value `--build` and `build=` accept. */
export const SIM_BUILD_CHOICES: readonly string[] = [...Object.keys(BUILD_ALIASES), ...buildNames];

/** The virtual kernel's own settings (shared by `sim://` and `vmkd sim`). */
export interface SimOptions {
  /** `win7`, `win10`, or one of @vmkd/sim-target's build names (`win10-2004-x64`, …). */
  readonly build: string;
  /** Bytes of physical memory. */
  readonly memory: number;
  readonly cpus: number;
  /** Expose the kernel's RAM as this file (`ram=PATH`, `vmkd sim --ram-file`): byte pa at offset pa. */
  readonly ramFile?: string;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = { build: 'win10', memory: 256 * 1024 * 1024, cpus: 1 };

export function resolveBuild(build: string): BuildName | undefined {
  const resolved = BUILD_ALIASES[build] ?? build;
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
