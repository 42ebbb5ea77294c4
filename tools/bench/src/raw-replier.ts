import type { Socket } from 'node:net';
import { READ_PATTERN } from './read-pattern.js';

/**
 * The replying (target) end of the raw read pattern on one connection: a 73-byte request in → the
 * 16-byte ACK and the 4,017-byte reply out; then the debugger's 16-byte ACK. Bytes are counted,
 * never parsed.
 */
export function serveReadPattern(socket: Socket): void {
  const ack = new Uint8Array(READ_PATTERN.ack).fill(0x69);
  const reply = new Uint8Array(READ_PATTERN.reply).fill(0x30);
  socket.setNoDelay?.(true);
  let have = 0;
  let want: 'request' | 'ack' = 'request';
  socket.on('data', (chunk: Buffer) => {
    have += chunk.length;
    for (;;) {
      const need = want === 'request' ? READ_PATTERN.request : READ_PATTERN.ack;
      if (have < need) break;
      have -= need;
      if (want === 'request') {
        socket.write(ack);
        socket.write(reply);
        want = 'ack';
      } else {
        want = 'request';
      }
    }
  });
  socket.on('error', () => undefined);
}
