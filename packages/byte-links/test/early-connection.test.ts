import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ByteLinkListener } from '@vmkd/kd-protocol';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { listenTcpByteLinks, listenUnixByteLinks } from '../src/index.js';

/*
 * A debugger polling for an endpoint's socket connects the moment it appears, before the consumer
 * (the endpoint's KDCOM link) has subscribed. That connection must reach the consumer: it used to
 * be accepted by a server nobody listened to and left unanswered (the debugger's RESET timed out).
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function dial(target: { path: string } | { port: number; host: string }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(target as never, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function servedBeforeSubscribe(listener: ByteLinkListener, target: { path: string } | { port: number; host: string }): Promise<void> {
  const client = await dial(target);
  cleanups.push(() => {
    client.destroy();
    return Promise.resolve();
  });
  client.write('early');
  // Let the accept happen with nobody subscribed.
  await new Promise((r) => setTimeout(r, 50));
  const link = await firstValueFrom(listener.connections$);
  cleanups.push(() => link.close());
  const text = await firstValueFrom(link.data$);
  expect(Buffer.from(text).toString()).toBe('early');
  await link.write(Buffer.from('answer'));
  const back = await new Promise<string>((resolve) => client.once('data', (chunk) => resolve(chunk.toString())));
  expect(back).toBe('answer');
}

const noUnix = skipUnlessCapable('unix-sockets');

describe('a connection that arrives before the consumer subscribes', () => {
  it.skipIf(noUnix !== undefined)(titleWithSkip('unix: is held and handed to the first subscriber', noUnix), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmkd-early-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'kd.sock');
    const listener = await listenUnixByteLinks({ path });
    cleanups.push(() => listener.close());
    await servedBeforeSubscribe(listener, { path });
  });

  it('tcp: is held and handed to the first subscriber', async () => {
    const listener = await listenTcpByteLinks({ port: 0 });
    cleanups.push(() => listener.close());
    const port = Number(/:(\d+)$/.exec(listener.address)![1]);
    await servedBeforeSubscribe(listener, { host: '127.0.0.1', port });
  });

  it.skipIf(noUnix !== undefined)(titleWithSkip('unix: closing the listener closes connections nobody took', noUnix), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmkd-early-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'kd.sock');
    const listener = await listenUnixByteLinks({ path });
    const client = await dial({ path });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    await listener.close();
    await closed;
  });
});
