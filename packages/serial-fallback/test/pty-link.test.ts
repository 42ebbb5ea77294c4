import { afterEach, describe, expect, it } from 'vitest';
import { isVmkdError, type ByteLink } from '@vmkd/kd-protocol';
import { openSerialByteLink, openSerialLine } from '../src/index.js';
import { collectBytes, endOf, pattern } from '@vmkd/byte-links/testing';
import { socatSkipReason, startPtyPair, type PtyPair } from '../src/testing/index.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function ptyLinks(): Promise<{ pair: PtyPair; a: ByteLink; b: ByteLink }> {
  const pair = await startPtyPair();
  cleanup.push(() => pair.stop());
  const a = await openSerialByteLink({ path: pair.paths[0] });
  cleanup.push(() => a.close());
  const b = await openSerialLine({ kind: 'serial', path: pair.paths[1], baudRate: 115_200 });
  cleanup.push(() => b.close());
  return { pair, a, b };
}

describe('serial device links over a real socat pty pair', () => {
  // 3,855 awaited 17-byte writes through socat's pty pair: seconds when idle, much longer with
  // both cores busy, so this test has its own limit rather than the package's 30 s.
  it('carries a large transfer in order, both directions', { timeout: 120_000 }, async ({ skip }) => {
    skip(socatSkipReason() !== undefined, socatSkipReason());
    const { a, b } = await ptyLinks();
    const up = pattern(256 * 1024, 3);
    const down = pattern(64 * 1024, 4);
    const gotUp = collectBytes(b, up.byteLength);
    const gotDown = collectBytes(a, down.byteLength);
    const writeAll = async (link: ByteLink, bytes: Uint8Array, size: number): Promise<void> => {
      for (let offset = 0; offset < bytes.byteLength; offset += size) await link.write(bytes.subarray(offset, offset + size));
    };
    await Promise.all([writeAll(a, up, 4000), writeAll(b, down, 17)]);
    expect(Buffer.from(await gotUp).equals(Buffer.from(up))).toBe(true);
    expect(Buffer.from(await gotDown).equals(Buffer.from(down))).toBe(true);
    expect(a.stats()).toMatchObject({ bytesOut: up.byteLength, bytesIn: down.byteLength });
  });

  it('close completes data$; a write after close rejects with ERR_LINK_CLOSED (canceled)', async ({ skip }) => {
    skip(socatSkipReason() !== undefined, socatSkipReason());
    const { a } = await ptyLinks();
    const ended = endOf(a.data$);
    await Promise.all([a.close(), a.close()]);
    expect(await ended).toBe('complete');
    const error = await a.write(Uint8Array.of(0x62)).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_LINK_CLOSED')).toBe(true);
    expect((error as { canceled: boolean }).canceled).toBe(true);
  });

  it('the device vanishing (socat killed) errors data$ with ERR_LINK_DISCONNECTED, writes fail, nothing hangs', async ({ skip }) => {
    skip(socatSkipReason() !== undefined, socatSkipReason());
    const { pair, a } = await ptyLinks();
    const ended = endOf(a.data$);
    pair.process.kill('SIGKILL');
    const end = await ended;
    expect(isVmkdError(end, 'ERR_LINK_DISCONNECTED')).toBe(true);
    expect((end as { disconnected: boolean }).disconnected).toBe(true);
    const error = await a.write(Uint8Array.of(1)).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_LINK_DISCONNECTED')).toBe(true);
  });

  it('a missing device is ERR_SERIAL_CONNECT_FAILED', async () => {
    const error = await openSerialByteLink({ path: '/dev/vmkd-no-such-tty' }).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_SERIAL_CONNECT_FAILED')).toBe(true);
  });
});
