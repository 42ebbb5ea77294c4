import { describe, expect, it } from 'vitest';
import { cacheDir, installStamp, isMirrored, parseLaneArgs, planSync, planTrees, skippedTests, treeKey, vitestArgs, wineEnv } from './plan.mjs';

describe('windows lane plan', () => {
  it('passes the user\'s vitest filters through and always adds the JSON report it reads back', () => {
    expect(vitestArgs([], 'reports/w.json')).toEqual(['run', '--reporter=default', '--reporter=json', '--outputFile.json=reports/w.json']);
    expect(vitestArgs(['packages/byte-links/test/named-pipe.test.ts', '--project', 'cli', '-t', 'pipe'], 'r.json')).toEqual([
      'run',
      'packages/byte-links/test/named-pipe.test.ts',
      '--project',
      'cli',
      '-t',
      'pipe',
      '--reporter=default',
      '--reporter=json',
      '--outputFile.json=r.json',
    ]);
    // A reporter the user chose replaces the default one, never the JSON report.
    expect(vitestArgs(['--reporter=verbose'], 'r.json')).toEqual(['run', '--reporter=verbose', '--reporter=json', '--outputFile.json=r.json']);
  });

  it('keeps its own options apart from vitest\'s', () => {
    expect(parseLaneArgs(['--strict-env', 'a.test.ts', '--lane-report', 'out.json', '--project', 'cli', '--keep-prefix'])).toEqual({
      lane: { strictEnv: true, report: 'out.json', keepPrefix: true },
      vitest: ['a.test.ts', '--project', 'cli'],
    });
    expect(parseLaneArgs([]).lane.report).toBe('reports/vitest-windows.json');
  });

  it('copies sources and built dist into the win32 copy, never node_modules, git metadata or caches', () => {
    expect(isMirrored('packages/cli/src/main.ts')).toBe(true);
    expect(isMirrored('packages/cli/dist/main.js')).toBe(true);
    expect(isMirrored('node_modules/vitest/package.json')).toBe(false);
    expect(isMirrored('packages/cli/node_modules/x/index.js')).toBe(false);
    expect(isMirrored('.git')).toBe(false);
    expect(isMirrored('.nx/cache/x')).toBe(false);
    expect(isMirrored('reports/vitest.json')).toBe(false);
    expect(isMirrored('packages/cli/tsconfig.lib.tsbuildinfo')).toBe(false);
  });

  it('copies new and changed files, removes files gone from the tree, leaves equal ones', () => {
    const source = new Map([
      ['same.ts', { size: 10, mtimeMs: 1000.4 }],
      ['grown.ts', { size: 11, mtimeMs: 1000 }],
      ['touched.ts', { size: 5, mtimeMs: 2000 }],
      ['new.ts', { size: 1, mtimeMs: 1 }],
    ]);
    const mirror = new Map([
      ['same.ts', { size: 10, mtimeMs: 999.999 }],
      ['grown.ts', { size: 10, mtimeMs: 1000 }],
      ['touched.ts', { size: 5, mtimeMs: 1500 }],
      ['gone.ts', { size: 3, mtimeMs: 3 }],
    ]);
    expect(planSync(source, mirror)).toEqual({ copy: ['grown.ts', 'new.ts', 'touched.ts'], remove: ['gone.ts'] });
  });

  it('redoes the win32 install when the lock file or npm changes, not otherwise', () => {
    const a = installStamp({ lockText: '{"lockfileVersion":3}', npmVersion: '11.19.1' });
    expect(installStamp({ lockText: '{"lockfileVersion":3}', npmVersion: '11.19.1' })).toBe(a);
    expect(installStamp({ lockText: '{"lockfileVersion":3,"x":1}', npmVersion: '11.19.1' })).not.toBe(a);
    expect(installStamp({ lockText: '{"lockfileVersion":3}', npmVersion: '11.20.0' })).not.toBe(a);
  });

  it('runs Wine headless in its own prefix with debug output and Mono/Gecko prompts off', () => {
    const env = wineEnv({ PATH: '/usr/bin', DISPLAY: ':0', WAYLAND_DISPLAY: 'w', FORCE_COLOR: '1' }, { prefix: '/tmp/p', color: false });
    expect(env).toEqual({
      PATH: '/usr/bin',
      WINEPREFIX: '/tmp/p',
      WINEDEBUG: '-all',
      DISPLAY: '',
      WINEDLLOVERRIDES: 'mscoree,mshtml=',
      VMKD_WINDOWS_LANE: 'wine',
      VMKD_TEST_BUILT_CLI: '1',
    });
    expect(wineEnv({}, { prefix: '/tmp/p', color: true }).FORCE_COLOR).toBe('1');
  });

  it('lists the tests a report skipped, file relative to the copy, with their describe titles', () => {
    const report = {
      testResults: [
        {
          name: 'Z:/cache/tree/packages/byte-links/test/socket-links.test.ts',
          assertionResults: [
            { status: 'passed', ancestorTitles: ['tcp byte links'], title: 'carries' },
            { status: 'skipped', ancestorTitles: ['unix byte links (skipped: needs unix-sockets)'], title: 'carries' },
          ],
        },
        { name: 'Z:\\cache\\tree\\tools\\scripts\\x.test.mjs', assertionResults: [{ status: 'todo', ancestorTitles: [], title: 'later' }] },
      ],
    };
    expect(skippedTests(report, 'Z:/cache/tree')).toEqual([
      'packages/byte-links/test/socket-links.test.ts > unix byte links (skipped: needs unix-sockets) > carries',
      'tools/scripts/x.test.mjs > later',
    ]);
    expect(skippedTests(undefined)).toEqual([]);
  });

  it('keeps its cache outside the checkout, where npm ci does not remove it', () => {
    expect(cacheDir({}, '/home/ci')).toBe('/home/ci/.cache/vmkd-windows-lane');
    expect(cacheDir({}, '/home/ci/')).toBe('/home/ci/.cache/vmkd-windows-lane');
    expect(cacheDir({ XDG_CACHE_HOME: '/var/cache/u' }, '/home/ci')).toBe('/var/cache/u/vmkd-windows-lane');
    expect(cacheDir({ XDG_CACHE_HOME: '/var/cache/u', VMKD_WINDOWS_LANE_CACHE: '/c' }, '/home/ci')).toBe('/c');
    expect(treeKey('/work/a')).toMatch(/^[0-9a-f]{16}$/);
    expect(treeKey('/work/a')).not.toBe(treeKey('/work/b'));
  });

  it('installs a checkout\'s copy only when its lock file changed, seeds it from a live copy with the same lock, and prunes copies of removed checkouts', () => {
    const live = new Set(['/work/main', '/work/wt/x']);
    const exists = (origin) => live.has(origin);
    const records = [
      { key: 'main', origin: '/work/main', stamp: 'S1' },
      { key: 'x', origin: '/work/wt/x', stamp: 'S2' },
      { key: 'gone', origin: '/tmp/ci-clone', stamp: 'S2' },
      { key: 'broken', origin: '', stamp: '' },
    ];
    // Already installed from this lock file: nothing to install, stale copies pruned.
    expect(planTrees(records, exists, { key: 'main', stamp: 'S1', installed: true })).toEqual({ prune: ['broken', 'gone'], install: false, seed: undefined });
    // A new clone with main's lock file: hard links from main's copy.
    expect(planTrees(records, exists, { key: 'new', stamp: 'S1', installed: false })).toEqual({ prune: ['broken', 'gone'], install: true, seed: 'main' });
    // A live copy is preferred as the seed over one about to be pruned, whatever the order.
    expect(planTrees(records, exists, { key: 'new', stamp: 'S2', installed: false }).seed).toBe('x');
    expect(planTrees([...records].reverse(), exists, { key: 'new', stamp: 'S2', installed: false }).seed).toBe('x');
    // Only a removed checkout's copy has this lock: it still seeds before it goes.
    expect(planTrees([records[2]], exists, { key: 'new', stamp: 'S2', installed: false })).toEqual({ prune: ['gone'], install: true, seed: 'gone' });
    // A new lock file nobody installed yet: a fresh install.
    expect(planTrees(records, exists, { key: 'main', stamp: 'S3', installed: false })).toEqual({ prune: ['broken', 'gone'], install: true, seed: undefined });
  });
});
