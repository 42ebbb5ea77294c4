#!/usr/bin/env node
// gdb 16, the first gdb that reads memory with binary `x` packets, as a second real peer beside
// Debian 12's gdb 13. Debian 12 has no gdb 16, Debian 13 (trixie) has: debootstrap puts trixie's
// gdb and the libraries it needs into a directory in the cache, outside the checkout (kept across
// `npm ci` and clones), and a launcher runs it with trixie's own dynamic loader and libraries.
// Nothing is installed on the system, nothing needs a chroot. Run by prepare-test-env.mjs (so by
// `npm test` and .ci/run); tests find the launcher with newerGdbLauncher() and skip with the
// reason this prints when it is missing. VMKD_NEWER_GDB names another gdb ≥ 16 to use instead.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
// POSIX paths throughout: the tree and its launcher exist on Linux only (also when this module is
// loaded by the Windows lane's tests).
import { posix } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Debian release whose gdb is used, and the first gdb major version with binary reads. */
export const SUITE = 'trixie';
export const MIN_MAJOR = 16;
const MIRROR = 'http://deb.debian.org/debian';

/** Where the trixie tree and its launcher live: the user's cache, never the checkout. */
export function newerGdbDir(env, home) {
  if (env.VMKD_NEWER_GDB_CACHE) return env.VMKD_NEWER_GDB_CACHE;
  const base = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : `${home.replace(/\/+$/, '')}/.cache`;
  return `${base}/vmkd-newer-gdb`;
}

/** The command tests run: VMKD_NEWER_GDB when set, else the launcher in the cache. */
export function newerGdbLauncher(env = process.env, home = homedir()) {
  return env.VMKD_NEWER_GDB ? env.VMKD_NEWER_GDB : posix.join(newerGdbDir(env, home), 'gdb');
}

/** gdb's major version from the first line of `gdb --version` ("GNU gdb (Debian 16.3-1) 16.3"). */
export function gdbMajor(versionText) {
  const m = /^GNU gdb .*?(\d+)\.\d+\S*\s*$/m.exec(versionText);
  return m === null ? undefined : Number(m[1]);
}

/**
 * The launcher: trixie's gdb through trixie's ld.so with trixie's libraries first, its data
 * directory (Python scripts, syscalls, target descriptions) and its Python 3.13 standard library.
 */
export function launcherScript() {
  return `#!/bin/sh
# gdb from Debian ${SUITE}, run with its own loader and libraries (written by tools/scripts/newer-gdb.mjs).
R="$(dirname "$0")/root"
PYTHONHOME="$R/usr" exec "$R/lib64/ld-linux-x86-64.so.2" --library-path "$R/lib/x86_64-linux-gnu:$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin/gdb" --data-directory="$R/usr/share/gdb" "$@"
`;
}

/** Why `command` is not a usable gdb ≥ 16, or undefined when it is. */
export function newerGdbUnavailable(command = newerGdbLauncher()) {
  const r = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error !== undefined || r.status !== 0) {
    return `no gdb ${MIN_MAJOR} at ${command} (node tools/scripts/newer-gdb.mjs sets one up from Debian ${SUITE} as root; or set VMKD_NEWER_GDB)`;
  }
  const major = gdbMajor(r.stdout);
  if (major === undefined || major < MIN_MAJOR) return `${command} is gdb ${major ?? '?'}, not ${MIN_MAJOR} or later`;
  return undefined;
}

/** Mount points inside `dir` (a debootstrap that was killed can leave /proc mounted in its tree). */
export function mountsUnder(dir, procMounts) {
  const prefix = `${dir.replace(/\/+$/, '')}/`;
  return procMounts
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((point) => point !== undefined && point.startsWith(prefix));
}

function main() {
  const say = (text) => process.stderr.write(`newer-gdb: ${text}\n`);
  const dir = newerGdbDir(process.env, homedir());
  const launcher = posix.join(dir, 'gdb');
  if (process.env.VMKD_NEWER_GDB) {
    say(`using VMKD_NEWER_GDB=${process.env.VMKD_NEWER_GDB}: ${newerGdbUnavailable(process.env.VMKD_NEWER_GDB) ?? 'ready'}`);
    return 0;
  }
  if (newerGdbUnavailable(launcher) === undefined) {
    say(`gdb ${MIN_MAJOR}+ ready (${launcher})`);
    return 0;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasDebootstrap = spawnSync('debootstrap', ['--version'], { encoding: 'utf8' }).error === undefined;
  if (process.platform !== 'linux' || process.arch !== 'x64' || !isRoot || !hasDebootstrap) {
    say(`not set up (needs Linux x86-64, root and debootstrap); the gdb ${MIN_MAJOR} tests skip`);
    return 0;
  }
  const root = posix.join(dir, 'root');
  const mounted = mountsUnder(dir, readFileSync('/proc/mounts', 'utf8'));
  if (mounted.length > 0) {
    say(`not touching ${dir}: something is mounted inside it (${mounted.join(', ')}); unmount it first. The gdb ${MIN_MAJOR} tests skip`);
    return 0;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  say(`debootstrap ${SUITE} (minbase + gdb) into ${root}`);
  const r = spawnSync('debootstrap', ['--variant=minbase', '--include=gdb', SUITE, root, MIRROR], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    say(`debootstrap failed (exit ${r.status}); the gdb ${MIN_MAJOR} tests skip. Its last lines:\n${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-8).join('\n')}`);
    rmSync(dir, { recursive: true, force: true });
    return 0;
  }
  writeFileSync(launcher, launcherScript());
  chmodSync(launcher, 0o755);
  const why = newerGdbUnavailable(launcher);
  say(why ?? `gdb ${MIN_MAJOR}+ ready (${launcher}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

if (process.argv[1] !== undefined && existsSync(process.argv[1]) && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
