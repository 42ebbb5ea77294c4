import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIBKDNET_KEY, libKdnet } from './fixtures/libkdnet.js';

/**
 * radare2's `winkd://HOST:PORT:KEY` binds UDP PORT on every address of its machine and accepts
 * datagrams only from HOST:PORT (a connected socket), so on one machine it can only meet a target
 * that lives in another network namespace. The test makes two private namespaces joined by a veth
 * pair (unprivileged, `unshare -rn`): radare2 in one (10.9.0.1), vmkd's KDNET target in the other
 * (10.9.0.2). Nothing is reachable from outside them. Why it cannot run, if it cannot.
 */
export function radare2Unavailable(): string | undefined {
  const r2 = spawnSync('r2', ['-v'], { encoding: 'utf8' });
  if (r2.error !== undefined || r2.status !== 0) return 'r2 is not on PATH (radare2 is built from a fetched snapshot, see DEVELOPERS.md)';
  const plugins = spawnSync('r2', ['-L'], { encoding: 'utf8' });
  if (!/winkd/.test(plugins.stdout)) return 'this r2 has no winkd IO plugin';
  const ns = spawnSync('unshare', ['-rn', 'sh', '-c', 'unshare -n sleep 2 & sleep 0.2; ip link add v0 type veth peer name v1 netns $! && echo ok; kill $! 2>/dev/null'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (!/ok/.test(ns.stdout)) return `no unprivileged network namespaces with veth here (${(ns.stderr || ns.stdout).trim() || 'unshare failed'})`;
  return radare2RejectsWindows();
}

/**
 * Can this radare2 authenticate a datagram from a real Windows target? It is sent the poke of the
 * libKDNET capture (key 1.1.1.1), which vmkd's own decoder authenticates. radare2 6.2.1 answers
 * "KdNet failed authentication" to it, so its KDNET client cannot talk to Windows either, and a
 * failure against vmkd would say nothing about vmkd.
 */
function radare2RejectsWindows(): string | undefined {
  const work = mkdtempSync(join(tmpdir(), 'vmkd-r2-probe-'));
  try {
    const sender = fileURLToPath(new URL('./radare2-send-vector.mjs', import.meta.url));
    runInNamespaces(
      {
        WORK: work,
        TARGET_CMD: `${process.execPath} ${sender} ${work} ${libKdnet.poke}`,
        DEBUGGER_CMD: `timeout 20 r2 -e scr.color=0 -a x86 -b 64 -D winkd -q -c 'q' winkd://10.9.0.2:50000:${LIBKDNET_KEY}`,
      },
      60_000,
    );
    const err = readFileSync(join(work, 'r2.err'), 'utf8');
    const got = readFileSync(join(work, 'target.log'), 'utf8');
    if (/failed authentication/i.test(err)) {
      return `this radare2 rejects a real Windows KDNET poke (libKDNET capture, key ${LIBKDNET_KEY}) with "KdNet failed authentication", so it cannot be a KDNET peer`;
    }
    // Only a clean exit with an answer counts: a probe cut short (a loaded machine, a timeout)
    // proves nothing, and running the real test on it would wait minutes for nothing.
    if (!/r2 exit 0\b/.test(err) || !/got/.test(got)) {
      return `radare2 did not complete a session with a real Windows KDNET poke (${err.trim().split('\n').at(-1) ?? 'no output'})`;
    }
    return undefined;
  } catch (error) {
    return `the radare2 probe failed: ${String(error)}`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Runs TWO_NAMESPACES in its own process group with no pipes to this process, then kills the
 * whole group: the namespace holder and the target must never outlive the test (they would hold
 * a pipe open and keep a synchronous spawn waiting until its timeout).
 */
export function runInNamespaces(env: Record<string, string>, timeoutMs: number): void {
  const run = spawnSync('unshare', ['-rn', 'sh', '-c', TWO_NAMESPACES], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
    detached: true,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  } as Parameters<typeof spawnSync>[2]);
  try {
    if (run.pid !== undefined && run.pid > 0) process.kill(-run.pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

/**
 * A shell script for `unshare -rn sh -c SCRIPT`: namespace A (where it runs) gets 10.9.0.1, a
 * child namespace B gets 10.9.0.2; `$TARGET_CMD` runs in B, then `$DEBUGGER_CMD` in A.
 */
export const TWO_NAMESPACES = `
set -e
ip link set lo up
unshare -n sh -c 'exec sleep 600' &
NSB=$!
sleep 0.3
ip link add v0 type veth peer name v1 netns $NSB
ip addr add 10.9.0.1/24 dev v0
ip link set v0 up
nsenter -t $NSB -n sh -c 'ip link set lo up; ip addr add 10.9.0.2/24 dev v1; ip link set v1 up'
nsenter -t $NSB -n --preserve-credentials sh -c "$TARGET_CMD" > "$WORK/target.log" 2>&1 &
TARGET=$!
i=0; while [ ! -e "$WORK/ready" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
set +e
sh -c "$DEBUGGER_CMD" > "$WORK/r2.out" 2> "$WORK/r2.err" < /dev/null
echo "r2 exit $?" >> "$WORK/r2.err"
kill $TARGET $NSB 2>/dev/null
wait 2>/dev/null
exit 0
`;
