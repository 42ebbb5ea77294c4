import { afterEach, describe, expect, it } from 'vitest';
import { isVmkdError, type ByteLink } from '@vmkd/kd-protocol';
import { connectPipeByteLink, listenByteLinks, listenPipeByteLinks, openByteLink } from '../src/index.js';
import { collectBytes, endOf, nextConnection, pattern } from '../src/testing/index.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

describe.runIf(process.platform === 'win32')('Windows named pipe byte links', () => {
  const name = `vmkd-test-${process.pid}-${Date.now()}`;

  it('carries bytes in order both ways and reports close', async () => {
    const listener = await listenPipeByteLinks({ path: `\\\\.\\pipe\\${name}-1` });
    open.push(listener);
    expect(listener.address).toBe(`pipe://./pipe/${name}-1`);
    const accepted = nextConnection(listener);
    const client: ByteLink = await connectPipeByteLink({ path: `//./pipe/${name}-1` });
    const server = await accepted;
    open.push(client, server);
    const bytes = pattern(256 * 1024, 7);
    const got = collectBytes(server, bytes.byteLength);
    for (let offset = 0; offset < bytes.byteLength; offset += 4000) await client.write(bytes.subarray(offset, offset + 4000));
    expect(Buffer.from(await got).equals(Buffer.from(bytes))).toBe(true);
    const ended = endOf(server.data$);
    await client.close();
    expect(await ended).toBe('complete');
    expect(isVmkdError(await client.write(Uint8Array.of(1)).catch((e: unknown) => e), 'ERR_LINK_CLOSED')).toBe(true);
  });

  it('accepts one client after another on the same pipe', async () => {
    const listener = await listenByteLinks({ kind: 'pipe', path: `${name}-2` });
    open.push(listener);
    for (let i = 0; i < 3; i += 1) {
      const accepted = nextConnection(listener);
      const client = await openByteLink({ kind: 'pipe', path: `${name}-2` });
      const server = await accepted;
      await client.write(Uint8Array.of(i));
      expect([...(await collectBytes(server, 1))]).toEqual([i]);
      await client.close();
      await server.close();
    }
  });
});

describe.runIf(process.platform !== 'win32')('named pipes elsewhere', () => {
  it('are refused with ERR_SERIAL_UNSUPPORTED_PLATFORM instead of creating an odd Unix socket', async () => {
    expect(isVmkdError(await listenPipeByteLinks({ path: 'kd' }).catch((e: unknown) => e), 'ERR_SERIAL_UNSUPPORTED_PLATFORM')).toBe(true);
    expect(isVmkdError(await connectPipeByteLink({ path: 'kd' }).catch((e: unknown) => e), 'ERR_SERIAL_UNSUPPORTED_PLATFORM')).toBe(true);
  });
});
