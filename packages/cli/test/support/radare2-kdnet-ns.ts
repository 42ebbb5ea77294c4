import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIBKDNET_KEY, libKdnet } from '@vmkd/kdnet/testing';

/**
 * The radare2 that plays the KDNET debugger: `$VMKD_R2` (a radare2 binary, or a script that runs
 * one) or else `r2` on PATH. radare2 6.2.1 as released cannot authenticate any KDNET datagram (see
 * radare2KdnetBroken), so the test runs only with a radare2 that has the fix.
 */
export const R2 = process.env['VMKD_R2'] ?? 'r2';

/** Where radare2 (namespace A) and vmkd's KDNET target (namespace B) live. */
export const DEBUGGER_ADDRESS = '10.9.0.1';
export const TARGET_ADDRESS = '10.9.0.2';
export const KDNET_PORT = 50000;
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * radare2's `winkd://HOST:PORT:KEY` binds UDP PORT on every address of its machine and accepts
 * datagrams only from HOST:PORT (a connected socket), so on one machine it can only meet a target
 * that lives in another network namespace. The test makes two private namespaces joined by a veth
 * pair (unprivileged, `unshare -rn`): radare2 in one (10.9.0.1), vmkd's KDNET target in the other
 * (10.9.0.2). Nothing is reachable from outside them. Returns why it cannot run, if it cannot.
 */
export function radare2KdnetUnavailable(): string | undefined {
  const r2 = spawnSync(R2, ['-v'], { encoding: 'utf8' });
  if (r2.error !== undefined || r2.status !== 0) return `${R2} is not runnable (radare2 is built from a fetched snapshot, see docs/testing.md; VMKD_R2 names another build)`;
  const plugins = spawnSync(R2, ['-L'], { encoding: 'utf8' });
  if (!/winkd/.test(plugins.stdout)) return `${R2} has no winkd IO plugin`;
  const ns = spawnSync('unshare', ['-rn', 'sh', '-c', 'unshare -n sleep 2 & sleep 0.2; ip link add v0 type veth peer name v1 netns $! && echo ok; kill $! 2>/dev/null'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (!/ok/.test(ns.stdout)) return `no unprivileged network namespaces with veth here (${(ns.stderr || ns.stdout).trim() || 'unshare failed'})`;
  return radare2KdnetBroken();
}

/**
 * Can this radare2 authenticate a datagram from a real Windows target, and answer it? It is sent
 * the poke of the libKDNET capture (key 1.1.1.1, a real Windows target), which vmkd's decoder
 * authenticates, and must send back a response that vmkd's decoder authenticates too.
 *
 * radare2 6.2.1 cannot (docs/transports/kdnet.md §8): since radare2 commit 950da74252 ("Initial
 * implementation of RMutaBind", January 2026) `shlr/winkd/iob_net.c` computes every HMAC through
 * `mb->hash_hmac (mb, "hmac-sha256", …)`, and no RMuta plugin implements an algorithm of that name
 * (`muta_sha` answers sha1/sha256/sha384/sha512 only), so the HMAC is NULL, `_verifyhmac` fails for
 * every datagram whatever the key ("KdNet failed authentication"), and `_createKDNetPacket` cannot
 * build one. Besides, `_encrypt` sets its AES key with direction 0, which is R_MUTA_OP_HASH, not
 * R_MUTA_OP_ENCRYPT (2), so `muta_aes_cbc` would CBC-*decrypt* what it sends.
 */
function radare2KdnetBroken(): string | undefined {
  const work = mkdtempSync(join(tmpdir(), 'vmkd-r2-probe-'));
  try {
    const sender = fileURLToPath(new URL('./radare2-kdnet-probe.ts', import.meta.url));
    runInNamespaces(
      {
        WORK: work,
        TARGET_CMD: `cd ${JSON.stringify(REPO_ROOT)} && ${process.execPath} --import tsx --conditions=@vmkd/source ${sender} ${work} ${libKdnet.poke} ${LIBKDNET_KEY}`,
        DEBUGGER_CMD: `timeout 20 ${R2} -e scr.color=0 -a x86 -b 64 -D winkd -q -c 'q' winkd://${TARGET_ADDRESS}:${KDNET_PORT}:${LIBKDNET_KEY}`,
      },
      60_000,
    );
    const err = readFileSync(join(work, 'r2.err'), 'utf8');
    const got = existsSync(join(work, 'target.log')) ? readFileSync(join(work, 'target.log'), 'utf8') : '';
    if (/failed authentication/i.test(err)) {
      return (
        `${R2} rejects the poke of a real Windows KDNET target (libKDNET capture, key ${LIBKDNET_KEY}) with "KdNet failed authentication": ` +
        'radare2 6.2.1 asks RMuta for "hmac-sha256", which no RMuta plugin implements, and encrypts with direction 0 (R_MUTA_OP_HASH), ' +
        'so its KDNET client cannot talk to Windows or to vmkd (docs/transports/kdnet.md §8); set VMKD_R2 to a radare2 with shlr/winkd/iob_net.c fixed'
      );
    }
    // Only an authenticated answer counts (radare2 then waits for data that never comes, until
    // its timeout): a probe cut short proves nothing, and the real test would wait minutes for nothing.
    if (!/response ok/.test(got)) {
      return `${R2} did not answer a real Windows KDNET poke with a response vmkd authenticates (${got.trim().split('\n').at(-1) ?? ''} / ${err.trim().split('\n').at(-1) ?? 'no output'})`;
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
    env: { ...process.env, AFTER_CMD: 'true', ...env },
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
 * child namespace B gets 10.9.0.2. `$TARGET_CMD` runs in B; once it is ready (it wrote
 * `$WORK/ready`, or printed a `winkd://` line), `$DEBUGGER_CMD` runs in A, then `$AFTER_CMD`.
 */
export const TWO_NAMESPACES = `
set -e
ip link set lo up
unshare -n sh -c 'exec sleep 900' &
NSB=$!
sleep 0.3
ip link add v0 type veth peer name v1 netns $NSB
ip addr add 10.9.0.1/24 dev v0
ip link set v0 up
nsenter -t $NSB -n sh -c 'ip link set lo up; ip addr add 10.9.0.2/24 dev v1; ip link set v1 up'
nsenter -t $NSB -n --preserve-credentials sh -c "$TARGET_CMD" > "$WORK/target.log" 2>&1 &
TARGET=$!
i=0; while [ ! -e "$WORK/ready" ] && ! grep -q 'winkd://' "$WORK/target.log" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
set +e
sh -c "$DEBUGGER_CMD" > "$WORK/r2.out" 2> "$WORK/r2.err" < /dev/null
echo "r2 exit $?" >> "$WORK/r2.err"
sh -c "$AFTER_CMD" > "$WORK/after.log" 2>&1 < /dev/null
echo "after exit $?" >> "$WORK/after.log"
kill $TARGET $NSB 2>/dev/null
wait 2>/dev/null
exit 0
`;
