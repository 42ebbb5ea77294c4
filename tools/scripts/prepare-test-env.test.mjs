import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_LIST, parsePackageList, planInstall } from './prepare-test-env.mjs';
import { REPO_ROOT } from './workspace-packages.mjs';

describe('prepare-test-env', () => {
  it('keeps the Debian packages the suite uses in one list', () => {
    const names = parsePackageList(readFileSync(PACKAGE_LIST, 'utf8'));
    expect(names).toEqual(
      expect.arrayContaining(['socat', 'open-vm-tools', 'binutils', 'gdb', 'lldb', 'qemu-system-x86', 'wine64', 'gcc-mingw-w64-x86-64-win32']),
    );
    expect(parsePackageList('# comment\n\nsocat   # pty pairs\n  gdb\nsocat\n')).toEqual(['socat', 'gdb']);
  });

  it('installs as root or with sudo, and otherwise prints the one apt-get line that is missing', () => {
    expect(planInstall({ missing: [], isRoot: false, canSudo: false })).toMatchObject({ action: 'none' });
    expect(planInstall({ missing: ['socat', 'gdb'], isRoot: true, canSudo: false })).toMatchObject({
      action: 'install',
      prefix: [],
      line: 'apt-get install -y --no-install-recommends socat gdb',
    });
    expect(planInstall({ missing: ['socat'], isRoot: false, canSudo: true })).toMatchObject({ action: 'install', prefix: ['sudo', '-n'] });
    expect(planInstall({ missing: ['socat', 'wine64'], unavailable: ['wine64'], isRoot: false, canSudo: false })).toEqual({
      action: 'advise',
      installable: ['socat'],
      unavailable: ['wine64'],
      line: 'sudo apt-get install -y --no-install-recommends socat',
    });
  });

  it('runs against this machine: nothing to do when every listed package is installed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmkd-prepare-'));
    try {
      // A list of one package every Debian system has, so the run is real and needs no privileges.
      const list = join(dir, 'list.txt');
      writeFileSync(list, 'dpkg   # always there\n');
      const run = spawnSync(process.execPath, [join(REPO_ROOT, 'tools/scripts/prepare-test-env.mjs'), '--list', list], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/all 1 Debian packages present|not a Debian-like system/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is what the README and .ci/run both run', () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(manifest.scripts.test).toBe('node tools/scripts/test.mjs');
    expect(readFileSync(join(REPO_ROOT, 'tools/scripts/test.mjs'), 'utf8')).toMatch(/prepare-test-env\.mjs/);
    expect(readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8')).toMatch(/^npm test -- /m);
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toMatch(/^npm test +#/m);
  });
});
