import { describe, expect, it } from 'vitest';
import { parseGuestUri } from '@vmkd/connect';
import { radare2BuildAdvice, radare2Note, RADARE2_BUILDS_NOTE, simGuestBuild, withRadare2Note } from './radare2-builds.js';

interface Line {
  readonly debugger: string;
  readonly command: string;
  readonly note?: string;
}
const line = { debugger: 'radare2', command: 'r2 -a x86 -b 64 -D winkd winkd://kd.sock' };
const windbg = { debugger: 'windbg', command: 'windbg -k com:ipport=9999,port=127.0.0.1' };

describe("radare2's printed line and the build advice", () => {
  it('the default virtual kernel is a build radare2 knows: the line says so, no advice', () => {
    const build = simGuestBuild(parseGuestUri('sim://?via=serial&baud=0'));
    expect(build).toBe(18362);
    expect(radare2BuildAdvice(build)).toBeUndefined();
    const [r2, other] = withRadare2Note<Line>([line, windbg], build);
    expect(r2?.command).toBe(`${line.command}  # radare2 knows x64 Windows builds 6000, 6002, 7601, 9200, 14393, 17134, 18362 only; this kernel is build 18362`);
    expect(r2?.note).toBe(radare2Note(18362));
    expect(other).toEqual(windbg);
  });

  it('build=19041: the line and stderr say which build= radare2 can debug instead', () => {
    const build = simGuestBuild(parseGuestUri('sim://?via=kdrpc&build=19041'));
    expect(build).toBe(19041);
    expect(radare2Note(build)).toBe(`${RADARE2_BUILDS_NOTE}; this kernel is build 19041: route build=18362 for radare2`);
    expect(radare2BuildAdvice(build)).toBe(
      'radare2 has no profile for build 19041: it attaches, then "dp" and "dr" fail. For radare2, route the kernel with build=18362 (the default), build=17134, build=14393, build=7601',
    );
  });

  it('a real guest: the builds radare2 knows, nothing about a kernel vmkd cannot see yet', () => {
    const build = simGuestBuild(parseGuestUri('serial+tcp://127.0.0.1:5555'));
    expect(build).toBeUndefined();
    expect(radare2BuildAdvice(build)).toBeUndefined();
    expect(withRadare2Note([line], build)[0]?.command).toBe(`${line.command}  # ${RADARE2_BUILDS_NOTE}`);
  });
});
