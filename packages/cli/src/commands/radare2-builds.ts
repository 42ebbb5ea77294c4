import { DEFAULT_SIM_OPTIONS, resolveBuild, type ParsedUri } from '@vmkd/connect';
import { buildNames, buildProfile } from '@vmkd/sim-target';

/**
 * The x64 Windows builds radare2's winkd client has a profile for (radare2 6.2.1,
 * `shlr/winkd/profiles.h`, picked by exact build and service pack in `winkd_get_profile`; checked
 * against the real `r2`). For any other build it attaches, prints "Could not find a suitable
 * profile for the target OS" and every `dp`/`dr` fails, so `vmkd route` names them next to its
 * radare2 line (issue 10 item 8). The virtual kernel's default build is one of them (decision 0031).
 */
export const RADARE2_X64_BUILDS: readonly number[] = [6000, 6002, 7601, 9200, 14393, 17134, 18362];

/** The shell comment appended to a printed radare2 line: runnable as printed, and honest. */
export const RADARE2_BUILDS_NOTE = `radare2 knows x64 Windows builds ${RADARE2_X64_BUILDS.join(', ')} only`;

/** The build number of a `sim://` guest (the virtual kernel), undefined for any other guest. */
export function simGuestBuild(guest: ParsedUri): number | undefined {
  const sim = guest['sim'] as { build?: unknown } | undefined;
  if (guest['kind'] !== 'sim' || typeof sim?.build !== 'string') return undefined;
  return simBuild(sim.build);
}

/** The build number behind a `build=` / `--build` value, undefined when it names none. */
export function simBuild(build: string): number | undefined {
  const name = resolveBuild(build);
  return name === undefined ? undefined : buildProfile(name).buildNumber;
}

/** The virtual kernel's builds radare2 can debug, as `build=` takes them, the default first. */
function radare2SimBuilds(): string[] {
  const fallback = simBuild(DEFAULT_SIM_OPTIONS.build);
  const numbers = buildNames.map((name) => buildProfile(name).buildNumber).filter((n) => RADARE2_X64_BUILDS.includes(n));
  return numbers.sort((a, b) => (a === fallback ? -1 : b === fallback ? 1 : b - a)).map((n) => (n === fallback ? `${n} (the default)` : String(n)));
}

/**
 * The comment for radare2's line. For the virtual kernel it also says which build this kernel
 * is, and when radare2 cannot debug it, which `build=` it can: a user reads one line, not two.
 */
export function radare2Note(kernelBuild: number | undefined): string {
  if (kernelBuild === undefined) return RADARE2_BUILDS_NOTE;
  if (RADARE2_X64_BUILDS.includes(kernelBuild)) return `${RADARE2_BUILDS_NOTE}; this kernel is build ${kernelBuild}`;
  return `${RADARE2_BUILDS_NOTE}; this kernel is build ${kernelBuild}: route build=${simBuild(DEFAULT_SIM_OPTIONS.build)} for radare2`;
}

/** Debugger command lines with radare2's carrying its note as a shell comment (it runs as printed). */
export function withRadare2Note<T extends { readonly debugger: string; readonly command: string; readonly note?: string }>(commands: readonly T[], kernelBuild: number | undefined): T[] {
  const note = radare2Note(kernelBuild);
  return commands.map((c) => (c.debugger === 'radare2' ? { ...c, command: `${c.command}  # ${note}`, note: c.note === undefined ? note : `${c.note}; ${note}` } : c));
}

/**
 * For a virtual kernel whose build radare2 has no profile for: a line saying which `build=` to
 * route instead. Undefined when radare2 knows the build, or the guest is not a virtual kernel.
 */
export function radare2BuildAdvice(kernelBuild: number | undefined): string | undefined {
  if (kernelBuild === undefined || RADARE2_X64_BUILDS.includes(kernelBuild)) return undefined;
  return `radare2 has no profile for build ${kernelBuild}: it attaches, then "dp" and "dr" fail. For radare2, route the kernel with build=${radare2SimBuilds().join(', build=')}`;
}
