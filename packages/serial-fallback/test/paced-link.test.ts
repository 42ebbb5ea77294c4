import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBytePair, isVmkdError, type ByteLink } from '@vmkd/kd-protocol';
import { connectTcpByteLink, listenTcpByteLinks } from '@vmkd/byte-links';
import { createPacedByteLink, openSerialLine } from '../src/index.js';
import { collectBytes, endOf, nextConnection, pattern } from '@vmkd/byte-links/testing';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((thing) => thing.close()));
});

async function tcpPair(): Promise<{ client: ByteLink; server: ByteLink }> {
  const listener = await listenTcpByteLinks({ port: 0 });
  open.push(listener);
  const accepted = nextConnection(listener);
  const client = await connectTcpByteLink({ port: Number(new URL(listener.address).port) });
  const server = await accepted;
  open.push(client, server);
  return { client, server };
}

const BAUD = 115_200;
const SIZE = 16 * 1024;
/** The least time 16 KiB can take on a 115,200 bit/s 8N1 line: 16384 · 10 / 115200 s ≈ 1.422 s. */
const LINE_TIME_MS = (SIZE * 10 * 1000) / BAUD;

describe('UART pacing over a real TCP connection', () => {
  it('a paced writer needs at least the line time for 16 KiB, and the bytes arrive intact', async () => {
    const { client, server } = await tcpPair();
    const paced = createPacedByteLink(client, { baud: BAUD, bitsPerByte: 10 });
    open.push(paced);
    const bytes = pattern(SIZE, 9);
    const got = collectBytes(server, SIZE);
    const started = performance.now();
    for (let offset = 0; offset < SIZE; offset += 4016) await paced.write(bytes.subarray(offset, offset + 4016));
    const writeDone = performance.now() - started;
    const received = await got;
    expect(writeDone).toBeGreaterThanOrEqual(LINE_TIME_MS - 1);
    expect(Buffer.from(received).equals(Buffer.from(bytes))).toBe(true);
  });

  it('a paced reader delivers 16 KiB no faster than the line rate, however fast the bytes came', async () => {
    const { client, server } = await tcpPair();
    const paced = createPacedByteLink(server, { baud: BAUD });
    open.push(paced);
    const bytes = pattern(SIZE, 10);
    const got = collectBytes(paced, SIZE);
    const started = performance.now();
    await client.write(bytes); // one burst at socket speed
    const received = await got;
    expect(performance.now() - started).toBeGreaterThanOrEqual(LINE_TIME_MS - 1);
    expect(Buffer.from(received).equals(Buffer.from(bytes))).toBe(true);
    expect(paced.stats()).toMatchObject({ bytesIn: SIZE, overrunBytes: 0 });
  });
});

describe('pacing buffers are bounded', () => {
  it('drops inbound bytes beyond maxBufferedBytes and counts them as overrun', async () => {
    const [a, b] = createMemoryBytePair();
    const paced = createPacedByteLink(b, { baud: 9600, maxBufferedBytes: 100 });
    open.push(paced, a);
    const seen: number[] = [];
    paced.data$.subscribe((chunk) => seen.push(...chunk));
    await a.write(pattern(300, 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(paced.stats().overrunBytes).toBe(200);
  });

  it('refuses writes queued beyond maxBufferedBytes with ERR_SERIAL_BUFFER_FULL', async () => {
    const [a, b] = createMemoryBytePair();
    const paced = createPacedByteLink(a, { baud: 9600, maxBufferedBytes: 100 });
    open.push(paced, b);
    b.data$.subscribe();
    const first = paced.write(pattern(80));
    const error = await paced.write(pattern(40)).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_SERIAL_BUFFER_FULL')).toBe(true);
    await paced.close();
    expect(isVmkdError(await first.catch((e: unknown) => e), 'ERR_LINK_CLOSED')).toBe(true);
  });

  it('delivers the bytes already on the line before reporting the end', async () => {
    const [a, b] = createMemoryBytePair();
    const paced = createPacedByteLink(b, { baud: 115_200 });
    open.push(paced);
    const got = collectBytes(paced, 500);
    const ended = endOf(paced.data$);
    await a.write(pattern(500, 5));
    await a.close();
    expect((await got).byteLength).toBe(500);
    expect(await ended).toBe('complete');
  });

  it('bad pacing options are ERR_SERIAL_BAD_OPTIONS before any I/O', async () => {
    const error = await openSerialLine({ kind: 'tcp', port: 1, pace: { baud: 0 } }).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_SERIAL_BAD_OPTIONS')).toBe(true);
  });
});
