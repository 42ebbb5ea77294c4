/**
 * The replying end of the `raw-unix-2proc` limit in its own process: listens on the Unix socket
 * path argv[2] and answers the raw read pattern there. Prints `ready` once listening.
 */
import { createServer } from 'node:net';
import { serveReadPattern } from '../raw-replier.js';
import { exitWithParent } from '@vmkd/connect/internal';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: raw-replier-child <socket path>');
const server = createServer({ noDelay: true }, serveReadPattern);
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(path, resolve);
});
exitWithParent(() => {
  server.close();
  return Promise.resolve();
});
process.stdout.write('ready\n');
