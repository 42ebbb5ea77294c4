#!/usr/bin/env node
// The one test command (`npm test`, and what .ci/run runs): prepares the machine (the Debian
// packages of test-packages.txt, then gdb 16 from Debian 13 into the cache), builds every package (the packaging test runs the built,
// packed CLI), then runs vitest with any arguments given: `npm test -- --project cli`.
import { spawnSync } from 'node:child_process';
import { newerGdbLauncher, newerGdbUnavailable } from './newer-gdb.mjs';
import { binOf, REPO_ROOT as root } from './workspace-packages.mjs';

const args = process.argv.slice(2);
const strict = args.includes('--strict-env');
const vitestArgs = args.filter((arg) => arg !== '--strict-env');
const step = (label, command, commandArgs) => {
  process.stderr.write(`::: ${label}\n`);
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  return result.status ?? 1;
};

const node = process.execPath;
if (step('test environment (tools/scripts/test-packages.txt)', node, ['tools/scripts/prepare-test-env.mjs', ...(strict ? ['--strict'] : [])]) !== 0) {
  process.exit(1);
}
// Never fails the run: without it only the gdb 16 tests skip, and they say why. The tests find it
// through VMKD_NEWER_GDB (vitest inherits this environment).
step('gdb 16 beside Debian 12\'s gdb 13 (tools/scripts/newer-gdb.mjs)', node, ['tools/scripts/newer-gdb.mjs']);
if (process.env.VMKD_NEWER_GDB === undefined && newerGdbUnavailable() === undefined) process.env.VMKD_NEWER_GDB = newerGdbLauncher();
if (step('build', node, [binOf('nx', 'nx'), 'run-many', '-t', 'build', '--output-style=static']) !== 0) process.exit(1);
process.exit(step('tests', node, [binOf('vitest', 'vitest'), 'run', ...vitestArgs]));
