import { buildNames, buildProfile, createSimTarget, isBuildName, type BuildName, type SimTarget } from '@vmkd/sim-target';
import type { SimOptions } from '../uri/transport-uri.js';

/** Short names the CLI accepts besides sim-target's full build names. */
const BUILD_ALIASES: Readonly<Record<string, BuildName>> = { win7: 'win7-sp1-x64', win10: 'win10-2004-x64' };

/** Every value `--build` and `build=` accept. */
export const SIM_BUILD_CHOICES: readonly string[] = [...Object.keys(BUILD_ALIASES), ...buildNames];

export function resolveBuild(build: string): BuildName | undefined {
  const resolved = BUILD_ALIASES[build] ?? build;
  return isBuildName(resolved) ? resolved : undefined;
}

/** The embedded virtual kernel with the CLI's options. */
export function createSimBackend(options: SimOptions): SimTarget {
  const build = resolveBuild(options.build) ?? 'win7-sp1-x64';
  return createSimTarget({ build, memorySize: options.memory, cpus: options.cpus });
}

export function describeSim(options: SimOptions): string {
  const build = resolveBuild(options.build);
  const name = build === undefined ? options.build : `${buildProfile(build).displayName} (build ${buildProfile(build).buildNumber})`;
  const mib = options.memory / (1024 * 1024);
  const size = mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
  return `virtual ${name}, ${size}, ${options.cpus} CPU${options.cpus === 1 ? '' : 's'}`;
}
