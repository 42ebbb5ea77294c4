import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChildTracker } from './cli-harness.js';
import { guestFor, ROUTE_SHAPES, shapeSkipReason, startRoute } from './support/route-shapes.js';
import { CONTINUE_API2, GET_VERSION, manipulateRequest, Radare2Wire, READ_VIRTUAL } from './support/radare2-wire.js';

/*
 * Issue 10 item 1, guarded without radare2: radare2's exact connect sequence (break-in and RESET
 * before it reads anything, then GetVersion, a read, continue, break-in) against every route shape
 * × endpoint, as real processes. A debugger must see exactly one state change per stop and never a
 * RESEND (radare2 abandons the operation on one).
 */

const children = createChildTracker();
let dir: string;
const wires: Radare2Wire[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmkd-r2-replay-'));
});
afterEach(async () => {
  for (const wire of wires.splice(0)) wire.close();
  await children.killAll();
  await rm(dir, { recursive: true, force: true });
});

describe.each(ROUTE_SHAPES)('radare2 connect sequence through vmkd route, guest %s', (shape) => {
  it.for(['unix', 'tcp'] as const)('endpoint %s: one state change per stop, no RESEND, every request answered', { timeout: 90_000 }, async (endpoint, { skip }) => {
    const missing = shapeSkipReason(shape, endpoint);
    skip(missing !== undefined, missing);
    const guest = await guestFor(shape, children, dir);
    const address = await startRoute(children, dir, guest, endpoint);
    const wire = await Radare2Wire.connect(address);
    wires.push(wire);

    // winkd_sync: RESET reply, then the stop.
    const stop = await wire.sync();
    expect(new DataView(stop.buffer, stop.byteOffset).getUint32(0, true)).toBe(0x3030); // DbgKdExceptionStateChange

    // winkd_read_ver: the next manipulate packet must be the GetVersion reply, not a second stop.
    const version = (await wire.request(manipulateRequest(GET_VERSION)))!;
    const view = new DataView(version.buffer, version.byteOffset, version.byteLength);
    expect(view.getUint32(0, true)).toBe(GET_VERSION);
    expect(view.getUint32(8, true)).toBe(0); // STATUS_SUCCESS
    expect(view.getUint16(0x10 + 0x02, true)).toBe(18362); // MinorVersion: the default build, one radare2 has a profile for
    const debuggerDataList = view.getBigUint64(0x10 + 0x20, true);

    // The first thing radare2 reads: the pointer at DebuggerDataList (appendix A.2's request shape).
    const read = (await wire.request(
      manipulateRequest(READ_VIRTUAL, (v) => {
        v.setBigUint64(0x10, debuggerDataList, true);
        v.setUint32(0x18, 8, true);
      }),
    ))!;
    const readView = new DataView(read.buffer, read.byteOffset, read.byteLength);
    expect(readView.getUint32(0, true)).toBe(READ_VIRTUAL);
    expect(readView.getUint32(0x1c, true)).toBe(8); // ActualBytesRead
    expect(read.byteLength).toBe(56 + 8);

    // ContinueApi2 gets only an ACK; then radare2's break-in gives exactly one new stop.
    await wire.request(
      manipulateRequest(CONTINUE_API2, (v) => v.setUint32(0x10, 0x00010001, true)),
      false,
    );
    wire.breakIn();
    await wire.waitForStop();
    const again = (await wire.request(manipulateRequest(GET_VERSION)))!;
    expect(new DataView(again.buffer, again.byteOffset).getUint32(0, true)).toBe(GET_VERSION);

    // Nothing else came: one state change per stop (the one before its RESET reply included, the
    // copy radare2 reads and drops while it waits for that reply, when the stop was already on its way).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wire.pending().filter((f) => f.kind === 'data')).toEqual([]);
    expect(wire.log.resends).toBe(0);
    expect(wire.log.resetReplies).toBe(1);
    // After the RESET reply: the attach stop, GetVersion, the read, the break-in stop, GetVersion.
    // (A copy of the first stop read before the RESET reply is the KDCOM link's own retransmit
    // around the RESET; radare2 reads and drops it while it waits for that reply.)
    const afterReset = wire.log.sequence.slice(wire.log.sequence.indexOf('R') + 1).join('');
    expect(afterReset).toBe('smmsm');
  });
});
