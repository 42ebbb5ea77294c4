#!/usr/bin/env node
// Makes this machine ready for the test suite: installs the Debian packages listed in
// test-packages.txt that are missing, when it may (root, or sudo without a password); otherwise
// prints the one `apt-get install` line that would do it. Tests that need a missing tool skip
// with a reason, so a missing package is a warning here, not a failure (unless --strict, as in CI).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const PACKAGE_LIST = fileURLToPath(new URL('./test-packages.txt', import.meta.url));

/** The package names of a list file: the first word of each line, `#` comments and blanks ignored. */
export function parsePackageList(text) {
  const names = [];
  for (const line of text.split('\n')) {
    const name = line.replace(/#.*/, '').trim().split(/\s+/)[0];
    if (name !== undefined && name !== '' && !names.includes(name)) names.push(name);
  }
  return names;
}

/** What to do, from the facts: which packages are missing, and how (or whether) we may install. */
export function planInstall({ missing, unavailable = [], isRoot, canSudo }) {
  const installable = missing.filter((name) => !unavailable.includes(name));
  const line = `apt-get install -y --no-install-recommends ${installable.join(' ')}`;
  if (installable.length === 0) return { action: 'none', unavailable, installable };
  if (isRoot) return { action: 'install', prefix: [], installable, unavailable, line };
  if (canSudo) return { action: 'install', prefix: ['sudo', '-n'], installable, unavailable, line };
  return { action: 'advise', installable, unavailable, line: `sudo ${line}` };
}

const run = (command, args, options = {}) => spawnSync(command, args, { encoding: 'utf8', ...options });

function isInstalled(name) {
  const result = run('dpkg-query', ['-W', '-f=${Status}', name]);
  return result.status === 0 && /install ok installed/.test(result.stdout);
}

/** apt knows no installable version of it here (another architecture, a missing repository). */
function hasCandidate(name) {
  const result = run('apt-cache', ['policy', name]);
  return result.status === 0 && /Candidate: (?!\(none\))/.test(result.stdout);
}

function main() {
  const { values } = parseArgs({ options: { strict: { type: 'boolean', default: false }, list: { type: 'string', default: PACKAGE_LIST } } });
  const say = (text) => process.stderr.write(`prepare-test-env: ${text}\n`);
  const packages = parsePackageList(readFileSync(values.list, 'utf8'));
  if (process.platform !== 'linux' || run('dpkg-query', ['--version']).error !== undefined) {
    say(`not a Debian-like system; tests that need these skip without them: ${packages.join(' ')}`);
    return 0;
  }
  let missing = packages.filter((name) => !isInstalled(name));
  if (missing.length === 0) {
    say(`all ${packages.length} Debian packages present`);
    return 0;
  }
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const canSudo = !isRoot && run('sudo', ['-n', 'true']).status === 0;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (isRoot || canSudo) {
    // The package lists may be missing on a fresh image (apt-cache knows nothing yet): update once.
    const prefix = isRoot ? [] : ['sudo', '-n'];
    const update = run(prefix[0] ?? 'apt-get', [...prefix.slice(1), ...(prefix.length > 0 ? ['apt-get'] : []), 'update', '-qq'], { env, stdio: 'inherit' });
    if (update.status !== 0) say('apt-get update failed; trying the install with the lists there are');
  }
  const unavailable = missing.filter((name) => !hasCandidate(name));
  const plan = planInstall({ missing, unavailable, isRoot, canSudo });
  if (plan.unavailable.length > 0) say(`not installable here (no candidate): ${plan.unavailable.join(' ')}; their tests will skip`);
  if (plan.action === 'advise') {
    say(`missing Debian packages: ${plan.installable.join(' ')}; their tests will skip. To install them:`);
    process.stderr.write(`  ${plan.line}\n`);
    return values.strict ? 1 : 0;
  }
  if (plan.action === 'install') {
    say(`installing ${plan.installable.join(' ')}`);
    const [command, ...args] = [...plan.prefix, ...plan.line.split(' ')];
    const result = run(command, args, { env, stdio: 'inherit' });
    missing = packages.filter((name) => !isInstalled(name));
    if (result.status !== 0) say(`apt-get install failed (exit ${result.status}); still missing: ${missing.join(' ')}`);
  }
  const stillMissing = missing.filter((name) => !plan.unavailable.includes(name));
  if (stillMissing.length > 0) return values.strict ? 1 : 0;
  return 0;
}

// pathToFileURL, not `file://${path}`: on Windows the path is `C:\…` and the URL file:///C:/….
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
