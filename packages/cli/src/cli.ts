/**
 * The `vmkd` executable: runs the CLI on this process's arguments and streams. `bin.js` imports
 * the built copy of this file; in the repository it also runs from sources through tsx.
 */
import { createProcessIo } from './output/cli-io.js';
import { runCli } from './program.js';

// createProcessIo() guards stdout and stderr: a reader that stops early (`vmkd trace big.jsonl |
// head`) aborts io.shutdown, the command stops and cleans up, and the exit status stays its own.
const io = createProcessIo();
process.exitCode = await runCli(process.argv.slice(2), io);

// Every command closes what it opened; should a stray handle (a half-closed socket, a device)
// still hold the event loop, do not leave the user's shell hanging.
setTimeout(() => process.exit(), 3000).unref();
