#!/usr/bin/env node
/** `npm run bench -w @vmkd/bench` and the `vmkd-bench` bin: run the benchmark from the command line. */
import { runBenchCommand } from './bench-command.js';

process.exitCode = await runBenchCommand(process.argv.slice(2));
// Sockets and timers of a finished run must not keep the process alive.
setTimeout(() => process.exit(), 200).unref();
