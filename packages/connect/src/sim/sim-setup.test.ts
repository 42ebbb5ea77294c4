import { describe, expect, it } from 'vitest';
import { buildNames, buildProfile } from '@vmkd/sim-target';
import { parseGuestUri } from '../open.js';
import { DEFAULT_SIM_OPTIONS, describeSim, resolveBuild, SIM_BUILD_CHOICES } from './sim-setup.js';

describe('the virtual kernel’s build', () => {
  it('defaults to 18362, the newest Windows 10 build radare2 6.2.1 has a winkd profile for (decision 0031)', () => {
    const build = resolveBuild(DEFAULT_SIM_OPTIONS.build);
    expect(build).toBe('win10-1903-x64');
    expect(buildProfile(build!).buildNumber).toBe(18362);
    expect(describeSim(DEFAULT_SIM_OPTIONS)).toBe('virtual Windows 10 1903 x64 (build 18362), 256 MiB, 1 CPU');
    const parsed = parseGuestUri('sim://?via=serial&baud=0') as unknown as { sim: { build: string } };
    expect(resolveBuild(parsed.sim.build)).toBe('win10-1903-x64');
  });

  it('takes every build by its number, its full name, or win7 / win10', () => {
    expect(resolveBuild('19041')).toBe('win10-2004-x64');
    expect(resolveBuild('7601')).toBe('win7-sp1-x64');
    expect(resolveBuild('14393')).toBe('win10-1607-x64');
    expect(resolveBuild('17134')).toBe('win10-1803-x64');
    expect(resolveBuild('win7')).toBe('win7-sp1-x64');
    expect(resolveBuild('win10')).toBe('win10-1903-x64');
    for (const name of buildNames) {
      expect(resolveBuild(name)).toBe(name);
      expect(resolveBuild(String(buildProfile(name).buildNumber))).toBe(name);
      expect(SIM_BUILD_CHOICES).toContain(String(buildProfile(name).buildNumber));
    }
    const parsed = parseGuestUri('sim://?build=19041') as unknown as { sim: { build: string } };
    expect(describeSim({ ...DEFAULT_SIM_OPTIONS, build: parsed.sim.build })).toMatch(/^virtual Windows 10 2004 x64 \(build 19041\)/);
  });

  it('refuses what is not a build, and keys of Object.prototype are not builds', () => {
    expect(resolveBuild('win95')).toBeUndefined();
    expect(resolveBuild('constructor')).toBeUndefined();
    expect(resolveBuild('19000')).toBeUndefined();
    expect(() => parseGuestUri('sim://?build=19000')).toThrow(/build="19000" is not one of win7, win10, win7-sp1-x64/);
  });
});
