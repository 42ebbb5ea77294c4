import { spawn, type ChildProcess } from 'node:child_process';

/** A `socat -d -d pty,raw,echo=0 pty,raw,echo=0` pair started by the test; the two pty paths come from socat's stderr. */
export function startPtyPair(timeoutMs = 5_000): Promise<{ paths: [string, string]; process: ChildProcess }> {
  const child = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`socat gave no pty paths within ${timeoutMs} ms: ${text}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const paths = [...text.matchAll(/PTY is (\S+)/g)].map((match) => match[1]);
      if (paths.length === 2 && /starting data transfer loop/.test(text)) {
        clearTimeout(timer);
        resolve({ paths: [paths[0], paths[1]], process: child });
      }
    });
  });
}
