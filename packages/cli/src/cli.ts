/**
 * The `vmkd` executable: runs the CLI on this process's arguments and streams. `bin.js` imports
 * the built copy of this file; in the repository it also runs from sources through tsx.
 */
import { createProcessIo } from './output/cli-io.js';
import { runCli } from './program.js';

const io = createProcessIo();
process.exitCode = await runCli(process.argv.slice(2), io);

// Every command closes what it opened; should a stray handle (a half-closed socket, a device)
// still hold the event loop, do not leave the user's shell hanging.
setTimeout(() => process.exit(), 3000).unref();

// `vmkd trace big.jsonl | head`: a reader that stops early is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw error;
  });
}
