import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMemorySource, type MemorySource } from '../src/index.js';
import { qemuUnavailableReason, startPausedQemu, type Blob, type PausedQemu } from './qemu-process.js';
import { ramDir } from './sim-ram.js';

const unavailable = qemuUnavailableReason();
const GIB = 1n << 30n;

/** Known blobs below 2 GiB (q35 keeps 2 GiB low with 3 GiB of RAM) and at and above 4 GiB. */
const blobs: Blob[] = [
  { address: 0x00100000n, bytes: randomBytes(4096) },
  { address: 0x10000000n, bytes: randomBytes(65536) },
  { address: 2n * GIB - 8192n, bytes: randomBytes(8192) },
  { address: 4n * GIB, bytes: randomBytes(65536) },
  { address: 5n * GIB - 4096n, bytes: randomBytes(4096) },
];

describe.skipIf(unavailable !== undefined)(`the qemu: source against a paused QEMU${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, () => {
  let dir: ReturnType<typeof ramDir>;
  let qemu: PausedQemu;
  let source: MemorySource;

  beforeAll(async () => {
    dir = ramDir();
    qemu = await startPausedQemu(dir.dir, '3G', blobs);
    source = await openMemorySource(`qemu:${qemu.qmpPath}`);
  }, 120_000);

  afterAll(async () => {
    await source?.close();
    await qemu?.stop();
    dir?.remove();
  });

  it("takes QEMU's q35 layout from QMP: RAM up to 2 GiB, the rest at 4 GiB", () => {
    const ranges = source.layout.ranges;
    expect(ranges[0]?.guestStart).toBe(0n);
    expect(ranges.some((r) => r.guestStart === 4n * GIB && r.length === GIB)).toBe(true);
    expect(ranges.every((r) => r.guestStart + r.length <= 2n * GIB || r.guestStart >= 4n * GIB)).toBe(true);
    expect(source.description).toMatch(/^qemu:.*\(pid \d+/);
  });

  it.each(blobs.map((b) => [`0x${b.address.toString(16)}`, b] as const))('reads the blob at %s as QEMU itself does', async (_, blob) => {
    const got = new Uint8Array(blob.bytes.length);
    expect(await source.readPhysicalInto(blob.address, got)).toBe(blob.bytes.length);
    expect(Buffer.from(got).equals(Buffer.from(blob.bytes))).toBe(true);
    // QEMU's monitor agrees, at the start and at the end of the blob.
    expect(await qemu.xp(blob.address, 64)).toEqual(got.subarray(0, 64));
    expect(await qemu.xp(blob.address + BigInt(blob.bytes.length - 64), 64)).toEqual(got.subarray(blob.bytes.length - 64));
  });

  it('reads nothing from the PCI hole and stops a read at the end of low RAM', async () => {
    expect(await source.readPhysicalInto(3n * GIB, new Uint8Array(16))).toBe(0);
    const across = new Uint8Array(8192 + 16);
    expect(await source.readPhysicalInto(2n * GIB - 8192n, across)).toBe(8192);
  });
});
