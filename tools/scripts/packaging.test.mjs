// What gets published is what gets run: every publishable package packed with `npm pack`, the
// tarballs installed into an empty project (our packages from the tarballs alone, third-party ones
// from the npm cache), and the shipped bins run from there. And `changeset version` in a scratch
// clone bumps exactly the packages a changeset names, so packages can be published one by one.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishablePackages, REPO_ROOT, workspacePackages } from './workspace-packages.mjs';

const work = mkdtempSync(join(tmpdir(), 'vmkd-packaging-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (command, args, options = {}) => spawnSync(command, args, { encoding: 'utf8', timeout: 180_000, ...options });
const packages = publishablePackages();
const unbuilt = packages.filter((p) => !existsSync(join(REPO_ROOT, p.dir, 'dist')));
// Node for Windows in the Windows lane comes without npm (docs/testing.md).
const npmMissing = run(npm, ['--version']).error !== undefined;

describe('packaging', () => {
  it('finds the publishable packages in the workspace list', () => {
    const names = packages.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['@vmkd/cli', '@vmkd/kd-protocol', '@vmkd/router']));
    for (const p of packages) expect(p.manifest.publishConfig?.access, p.name).toBe('public');
  });

  it('depends on workspace packages with ranges a patch release stays inside (~x.y.z)', () => {
    const names = new Set(workspacePackages().map((p) => p.name));
    const caret = [];
    for (const p of workspacePackages()) {
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [name, range] of Object.entries(p.manifest[field] ?? {})) {
          if (names.has(name) && !/^~\d+\.\d+\.\d+$/.test(range)) caret.push(`${p.name} → ${name}@${range}`);
        }
      }
    }
    // In 0.x, ^0.0.0 means exactly 0.0.0: a patch of a dependency would force a release of every dependant.
    expect(caret, 'use "~x.y.z" for @vmkd dependencies (docs/releasing.md)').toEqual([]);
  });

  it('installs every packed package into an empty project and runs vmkd and kd-decode from there', { timeout: 400_000 }, ({ skip }) => {
    skip(unbuilt.length > 0, `not built (${unbuilt.map((p) => p.name).join(', ')}): npm test builds first`);
    skip(npmMissing, `${npm} is not on PATH: packing and installing need npm`);
    const tarballs = join(work, 'tarballs');
    mkdirSync(tarballs, { recursive: true });
    const pack = run(npm, ['pack', '--json', '--pack-destination', tarballs, ...packages.flatMap((p) => ['-w', p.name])], { cwd: REPO_ROOT });
    expect(pack.status, pack.stderr).toBe(0);
    const packed = JSON.parse(pack.stdout);
    expect(packed.map((p) => p.name).sort()).toEqual(packages.map((p) => p.name).sort());
    for (const p of packed) {
      // Shipped: built code and declarations, never tests or build info.
      const files = p.files.map((f) => f.path);
      expect(files, p.name).toContain('package.json');
      expect(files.some((f) => f.startsWith('dist/') && f.endsWith('.js')), p.name).toBe(true);
      expect(files.filter((f) => /\.test\.[cm]?[jt]s$|\.tsbuildinfo$/.test(f)), p.name).toEqual([]);
    }

    const project = join(work, 'project');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'vmkd-packaging-check', version: '1.0.0', private: true }));
    const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs, f));
    const install = (mode) => run(npm, ['install', mode, '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', ...files], { cwd: project });
    // Offline when the cache holds the third-party metadata; else the cache first, registry only for what it lacks.
    let installed = install('--offline');
    if (installed.status !== 0 && /ENOTCACHED/.test(installed.stderr)) installed = install('--prefer-offline');
    expect(installed.status, installed.stderr).toBe(0);
    // Our packages came from the tarballs, not from the workspace.
    for (const p of packages) {
      const manifest = JSON.parse(readFileSync(join(project, 'node_modules', p.name, 'package.json'), 'utf8'));
      expect(manifest.version, p.name).toBe(p.version);
    }

    const bin = (name) => join(project, 'node_modules', '.bin', name);
    const env = { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '' };
    const version = run(bin('vmkd'), ['--version'], { cwd: project, env });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(packages.find((p) => p.name === '@vmkd/cli').version);

    const demo = run(bin('vmkd'), ['demo', '--serial-kib', '2', '--accelerated-mib', '1'], { cwd: project, env });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/Windows build 18362, AMD64/);
    expect(demo.stdout).toMatch(/breakpoint hit at/);
    expect(demo.stdout).toMatch(/the accelerated path read [\d,]+× faster/);

    const help = run(bin('kd-decode'), ['--help'], { cwd: project, env });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: kd-decode/);
  });

  const git = run('git', ['-C', REPO_ROOT, 'rev-parse', '--git-dir']);
  it('changeset version bumps only the packages a changeset names', { timeout: 120_000 }, ({ skip }) => {
    skip(git.status !== 0, 'not a git checkout: no history to clone');
    const clone = join(work, 'clone');
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone]);
    // changesets loads its changelog module from here; the clone has no install of its own.
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const dir = join(clone, '.changeset');
    for (const file of readdirSync(dir)) if (file.endsWith('.md') && file !== 'README.md') rmSync(join(dir, file));
    // kd-protocol has the most dependants: a patch of it must not drag them along. cli is a leaf.
    const named = { '@vmkd/kd-protocol': 'patch', '@vmkd/cli': 'minor' };
    writeFileSync(join(dir, 'packaging-check.md'), `---\n${Object.entries(named).map(([n, b]) => `"${n}": ${b}`).join('\n')}\n---\n\nA check.\n`);
    const before = new Map(workspacePackages(clone).map((p) => [p.name, p.version]));
    const changeset = join(REPO_ROOT, 'node_modules', '@changesets', 'cli', 'bin.js');
    const version = run(process.execPath, [changeset, 'version'], { cwd: clone });
    expect(version.status, version.stderr + version.stdout).toBe(0);
    const bumped = workspacePackages(clone)
      .filter((p) => p.version !== before.get(p.name))
      .map((p) => p.name)
      .sort();
    expect(bumped, 'a package a changeset does not name was bumped: its dependants must accept a patch of its dependencies (~x.y.z ranges, updateInternalDependencies "minor")').toEqual(Object.keys(named).sort());
  });
});
