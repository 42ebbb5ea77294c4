import { spawn, type ChildProcess } from 'node:child_process';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';

export interface PtyPair {
  paths: [string, string];
  process: ChildProcess;
  stop: () => Promise<void>;
}

/**
 * Why pty-pair tests cannot run here (no POSIX ptys, or socat is not installed), or undefined when
 * they can; for `it('…', ({ skip }) => { skip(socatSkipReason() !== undefined, socatSkipReason()); … })`.
 * The one capability probe of the suite answers (`skipUnlessCapable` in `@vmkd/kd-protocol/testing`).
 */
export function socatSkipReason(): string | undefined {
  return skipUnlessCapable('ptys', 'socat');
}

/**
 * Starts `socat -d -d pty,raw,echo=0 pty,raw,echo=0` (Debian package `socat`) and reads the two pty
 * paths from its stderr: a real serial-like device pair for tests, one end opened by the code under
 * test, the other playing the VM. `stop()` ends socat, which both ends see as a vanished device.
 */
export function startPtyPair(timeoutMs = 5_000): Promise<PtyPair> {
  const child = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise<PtyPair>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`socat gave no pty paths within ${timeoutMs} ms: ${text}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const paths = [...text.matchAll(/PTY is (\S+)/g)].map((match) => match[1]);
      // socat has both ptys open once it says it is starting its data transfer loop.
      if (paths.length === 2 && /starting data transfer loop/.test(text)) {
        clearTimeout(timer);
        resolve({ paths: [paths[0], paths[1]], process: child, stop });
      }
    });
  });
}
