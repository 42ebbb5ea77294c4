import { afterEach, describe, expect, it } from 'vitest';
import { createSimTarget, fillExpected } from '@vmkd/sim-target';
import { createChildTracker, waitForOutput } from './cli-harness.js';
import { Radare2KdnetWire } from './support/radare2-kdnet-wire.js';
import { CONTINUE_API2, GET_VERSION, manipulateRequest, READ_VIRTUAL } from './support/radare2-wire.js';

/*
 * Issue 12, guarded without radare2: radare2's KDNET client, datagram for datagram (its response
 * to a poke, its numbering, its break-in with no RESET, its ACKs, its 2048-byte packet limit, its
 * 256-byte `wtf` reads; radare2-kdnet-wire.ts), against `vmkd sim --listen kdnet://…` and the
 * KDNET endpoint of `vmkd route`, as real processes on loopback UDP. The same run with the real
 * radare2 is radare2-kdnet.test.ts.
 */

const children = createChildTracker();
const wires: Radare2KdnetWire[] = [];
afterEach(async () => {
  for (const wire of wires.splice(0)) wire.close();
  await children.killAll();
});

const KEY = 'r2.kdnet.vmkd.test';
const base = (() => {
  const sim = createSimTarget({ build: 'win7-sp1-x64', memorySize: 256 * 1024 * 1024, cpus: 1 });
  const b = sim.layout.dataRegion.virtualBase;
  sim.close();
  return b;
})();

function readRequest(address: bigint, length: number): Uint8Array {
  return manipulateRequest(READ_VIRTUAL, (v) => {
    v.setBigUint64(0x10, address, true);
    v.setUint32(0x18, length, true);
  });
}

const shapes = {
  direct: (uri: string) => ['sim', '--listen', uri, '--build', 'win7'],
  route: (uri: string) => ['route', 'sim://?via=serial&baud=0&build=win7', uri],
};

describe('radare2’s KDNET client, replayed', () => {
  it.for(['direct', 'route'] as const)('%s: attach, GetVersion, 275 KiB read in wtf blocks (KD ids past 0x800), continue, break-in', { timeout: 240_000 }, async (shape) => {
    const wire = await Radare2KdnetWire.open(KEY);
    wires.push(wire);
    const child = children.spawnCli(shapes[shape](`kdnet://127.0.0.1:${wire.port}?key=${KEY}`));
    await waitForOutput(child, 'stdout', /winkd:\/\//, 20_000);

    // winkd_sync: the connection check, the break-in, the stop; no RESET.
    const stop = await wire.sync();
    expect(new DataView(stop.buffer, stop.byteOffset).getUint32(0, true)).toBe(0x3030); // DbgKdExceptionStateChange

    const version = (await wire.request(manipulateRequest(GET_VERSION)))!;
    const view = new DataView(version.buffer, version.byteOffset, version.byteLength);
    expect(view.getUint32(8, true)).toBe(0);
    expect(view.getUint16(0x10 + 0x02, true)).toBe(7601); // a build radare2 has a profile for

    // `wtf` reads in blocks of radare2's default block size (256 bytes); 1,100 of them, so the
    // target's KD ids (counting by two) pass 0x800, which radare2 ACKs as 0 (`id & ~0x800`).
    const size = 1100 * 256;
    const got = new Uint8Array(size);
    for (let at = 0; at < size; at += 256) {
      const reply = (await wire.request(readRequest(base + BigInt(at), 256)))!;
      const r = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
      expect(r.getUint32(8, true)).toBe(0);
      expect(r.getUint32(0x1c, true)).toBe(256);
      got.set(reply.subarray(56, 56 + 256), at);
    }
    expect(Buffer.from(got).equals(Buffer.from(fillExpected(base, new Uint8Array(size))))).toBe(true);

    // radare2's largest read (KD_MAX_PAYLOAD 2048): the reply must still be a packet it takes.
    const large = (await wire.request(readRequest(base, 2048)))!;
    const actual = new DataView(large.buffer, large.byteOffset, large.byteLength).getUint32(0x1c, true);
    expect(actual).toBeGreaterThan(0);
    expect(Buffer.from(large.subarray(56, 56 + actual)).equals(Buffer.from(fillExpected(base, new Uint8Array(actual))))).toBe(true);

    // ContinueApi2 gets only an ACK; the break-in gives a new stop, and the session goes on.
    await wire.request(
      manipulateRequest(CONTINUE_API2, (v) => v.setUint32(0x10, 0x00010001, true)),
      false,
    );
    wire.breakIn();
    await wire.waitForStop();
    const again = (await wire.request(manipulateRequest(GET_VERSION)))!;
    expect(new DataView(again.buffer, again.byteOffset).getUint32(0, true)).toBe(GET_VERSION);

    expect(wire.log.authFailures).toBe(0);
    expect(wire.log.resends).toBe(0);
    expect(wire.log.largestPayload).toBeLessThanOrEqual(2048);
  });
});
