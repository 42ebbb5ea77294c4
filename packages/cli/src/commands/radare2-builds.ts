import { resolveBuild, type ParsedUri } from '@vmkd/connect';
import { buildNames, buildProfile } from '@vmkd/sim-target';

/**
 * The x64 Windows builds radare2's winkd client has a profile for (radare2 6.2.1,
 * `shlr/winkd/profiles.h`; checked against the real `r2`). For any other build it attaches,
 * prints "Could not find a suitable profile for the target OS" and every `dp`/`dr` fails, so
 * `vmkd route` names them next to its radare2 line (issue 10 item 8).
 */
export const RADARE2_X64_BUILDS: readonly number[] = [6000, 6002, 7601, 9200, 14393, 17134, 18362];

/** The shell comment appended to a printed radare2 line: runnable as printed, and honest. */
export const RADARE2_BUILDS_NOTE = `radare2 knows x64 Windows builds ${RADARE2_X64_BUILDS.join(', ')} only`;

/**
 * For a `sim://` guest whose build radare2 has no profile for: a line saying which `build=` to
 * route instead. Undefined when radare2 knows the build, or the guest is not a virtual kernel.
 */
export function radare2BuildAdvice(guest: ParsedUri): string | undefined {
  const sim = guest['sim'] as { build?: unknown } | undefined;
  if (guest['kind'] !== 'sim' || typeof sim?.build !== 'string') return undefined;
  const build = resolveBuild(sim.build);
  if (build === undefined) return undefined;
  const number = buildProfile(build).buildNumber;
  if (RADARE2_X64_BUILDS.includes(number)) return undefined;
  const known = buildNames.filter((name) => RADARE2_X64_BUILDS.includes(buildProfile(name).buildNumber)).map((name) => `${name} (${buildProfile(name).buildNumber})`);
  return `radare2 has no profile for build ${number}: it attaches, then "dp" and "dr" fail. For radare2, route the kernel with build=${known.join(', build=')}`;
}
