import { spawnSync } from 'node:child_process';

/**
 * What a test may need from the machine beyond Node itself. Tests gate on these, never on the
 * platform name, so the suite says why it skips (and the Windows lane, the suite under Node for
 * Windows in Wine, is green for the right reasons; docs/testing.md):
 * - `unix-sockets`: AF_UNIX listeners and clients at a file path. Node for Windows gives a socket
 *   path to the named-pipe API instead, so there is none there.
 * - `ptys`: POSIX pseudo-terminals (a serial device stand-in); Windows has none.
 * - `fifos`: POSIX named FIFOs (mkfifo); Windows has none.
 * - `signals`: POSIX signals between processes: a child sent SIGINT or SIGTERM runs its handler
 *   and its exit is reported as that signal. On Windows `kill()` terminates outright.
 * - `socat`: the socat program (Debian package socat), for pty pairs and socket bridges.
 * - `python3`: a python3 interpreter on PATH.
 * - `ptrace`: Linux on x86-64, where a parent can trace a child's privileged instructions.
 * - `posix-shell`: `sh` and the POSIX tools tests spawn through it.
 * - `dev-paths`: devices named by paths under /dev (serial lines as /dev/ttyS0); Windows names them
 *   COM1, `\\.\COM10`.
 * - `udp-after-unreachable`: a connected UDP socket that sent to a closed port (an ICMP port
 *   unreachable) still receives afterwards, as on Linux and Windows (WSAECONNRESET, which libuv
 *   ignores). Node for Windows in Wine lacks it: Wine reports WSAECONNREFUSED, which libuv takes as
 *   a fatal receive error and stops reading. A KDNET target poking a debugger that is not listening
 *   yet needs it. Probed for real, in a child process.
 */
export type Capability =
  | 'unix-sockets'
  | 'ptys'
  | 'fifos'
  | 'signals'
  | 'socat'
  | 'python3'
  | 'ptrace'
  | 'posix-shell'
  | 'dev-paths'
  | 'udp-after-unreachable';

const INSTALL_HINT = '`node tools/scripts/prepare-test-env.mjs` installs what the suite needs';

function programMissing(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).error !== undefined;
}

/*
 * A connected UDP socket sends to a port nobody holds; the port is then bound and answers; the
 * socket must receive the answer. Exit 0 when it does, 1 when it does not within 5 s.
 */
const UDP_AFTER_UNREACHABLE = `
const dgram = require('node:dgram');
const done = (code) => process.exit(code);
setTimeout(() => done(1), 5000).unref();
const probe = dgram.createSocket('udp4');
probe.bind(0, '127.0.0.1', () => {
  const port = probe.address().port;
  probe.close(() => {
    const a = dgram.createSocket('udp4');
    a.on('error', () => undefined);
    a.on('message', () => done(0));
    a.bind(0, '127.0.0.1', () => a.connect(port, '127.0.0.1', () => {
      a.send('first', () => setTimeout(() => {
        const b = dgram.createSocket('udp4');
        b.on('message', (m, from) => b.send('answer', from.port, from.address));
        b.bind(port, '127.0.0.1', () => a.send('second'));
      }, 200));
    }));
  });
});
setInterval(() => undefined, 1000);
`;

function udpAfterUnreachable(): string | undefined {
  const result = spawnSync(process.execPath, ['-e', UDP_AFTER_UNREACHABLE], { stdio: 'ignore', timeout: 60_000 });
  if (result.status === 0) return undefined;
  if (result.error !== undefined || result.status === null) return `the UDP probe did not finish (${result.error?.message ?? String(result.signal)})`;
  return process.platform === 'win32'
    ? 'a connected UDP socket stops receiving after an ICMP port unreachable (Wine reports WSAECONNREFUSED, which libuv treats as fatal; Windows reports WSAECONNRESET, which it ignores)'
    : 'a connected UDP socket stops receiving after an ICMP port unreachable';
}

const windows = (what: string): string | undefined => (process.platform === 'win32' ? `${what} (Node for Windows)` : undefined);

const probes: Record<Capability, () => string | undefined> = {
  'unix-sockets': () => windows('no Unix domain sockets: a socket path names a Windows pipe here'),
  ptys: () => windows('no POSIX ptys'),
  fifos: () => windows('no POSIX FIFOs'),
  signals: () => windows('no POSIX signals between processes: kill() terminates'),
  socat: () =>
    windows('no socat') ?? (programMissing('socat', ['-V']) ? `socat is not installed (Debian package socat; ${INSTALL_HINT})` : undefined),
  python3: () => windows('no python3 for Windows here') ?? (programMissing('python3', ['--version']) ? 'python3 is not installed' : undefined),
  ptrace: () => (process.platform === 'linux' && process.arch === 'x64' ? undefined : `no ptrace on ${process.platform}/${process.arch} (Linux x86-64 only)`),
  'dev-paths': () => windows('no /dev device paths: serial lines are COM ports'),
  'udp-after-unreachable': udpAfterUnreachable,
  'posix-shell': () => windows('no POSIX shell') ?? (programMissing('sh', ['-c', 'true']) ? 'no POSIX shell (sh)' : undefined),
};

const known = new Map<Capability, string | undefined>();

/** Why this machine lacks the capability, or undefined when it has it (probed once per process). */
export function capabilityMissing(capability: Capability): string | undefined {
  if (!known.has(capability)) known.set(capability, probes[capability]());
  return known.get(capability);
}

/**
 * The skip reason for a test needing all of these capabilities, naming every one that is missing,
 * or undefined when the test can run: `describe.skipIf(reason !== undefined)` or
 * `it('…', ({ skip }) => { skip(reason !== undefined, reason); … })`.
 */
export function skipUnlessCapable(...capabilities: Capability[]): string | undefined {
  const reasons = capabilities.map((capability) => capabilityMissing(capability)).filter((reason) => reason !== undefined);
  return reasons.length === 0 ? undefined : `needs ${capabilities.join(', ')}: ${reasons.join('; ')}`;
}

/** Whether every one of these capabilities is here. */
export function hasCapabilities(...capabilities: Capability[]): boolean {
  return skipUnlessCapable(...capabilities) === undefined;
}

/** A describe/it title that carries the skip reason when there is one, so the report says why. */
export function titleWithSkip(title: string, reason: string | undefined): string {
  return reason === undefined ? title : `${title} (skipped: ${reason})`;
}
