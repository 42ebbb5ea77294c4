import type net from 'node:net';
import { createKdcomLink, createTargetSession, encodeDataFrame, type PacketLink, type TargetSession } from '@vmkd/kd-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable, titleWithSkip } from '@vmkd/kd-protocol/testing';
import { createSimTarget, type SimTarget } from '../src/index.js';
import { connectUnix, socketByteLink, unixListener } from './support/socket-byte-link.js';

/** Hex test vectors of KD spec appendix A (radare2 6.2.1 ↔ a target it accepts). */
const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const A1_BREAKIN_RESET = hex('62 69696969 0600 0000 00000000 00000000');
const RESET = hex('69696969 0600 0000 00000000 00000000');
const A2_GET_VERSION = hex(`30303030 0200 3800 00008080 77000000
  46310000 00000000 00000000 00000000 ${'00'.repeat(40)} aa`);
const A2_READ_DEBUGGER_DATA_LIST = hex(`30303030 0200 3800 01008080 6f030000
  30310000 00000000 00000000 00000000 00001000 00f8ffff 08000000 00000000 ${'00'.repeat(24)} aa`);
const A2_WRITE_BREAKPOINT = hex(`30303030 0200 3800 01008080 9c030000
  34310000 00000000 00000000 00000000 01004000 00f8ffff ${'00'.repeat(32)} aa`);
const A2_CONTINUE_API2 = hex(`30303030 0200 3800 00008080 6f000000
  3c310000 00000000 00000000 00000000 01000100 ${'00'.repeat(36)} aa`);
const A3_GET_VERSION_REPLY = hex(`30303030 0200 3800 01008080 df0b0000
  46310000 00000000 00000000 00000000
  0f00b11d 06020700 64860c03 31000000 00000000 00f8ffff 00006000 00f8ffff 00001000 00f8ffff aa`);
const A3_READ_REPLY = hex(`30303030 0200 4000 00008080 8d060000
  30310000 00000000 00000000 00000000 00001000 00f8ffff 08000000 08000000 ${'00'.repeat(24)}
  00002000 00f8ffff aa`);
const A3_STATE_CHANGE_HEADER = hex('30303030 0700 f000 00008080 e1140000');

const ack = (id: number): Uint8Array => {
  const b = hex('69696969 0400 0000 00000000 00000000');
  new DataView(b.buffer).setUint32(8, id, true);
  return b;
};

/** A manipulate request as radare2 builds it: 56 bytes, the rest zero. */
function request(id: number, api: number, fields: (v: DataView) => void): Uint8Array {
  const payload = new Uint8Array(56);
  const v = new DataView(payload.buffer);
  v.setUint32(0, api, true);
  fields(v);
  return encodeDataFrame(2, id, payload);
}

/** Reads whole KDCOM frames (data or control) off the raw socket, as radare2's transport does. */
function frameReader(socket: net.Socket) {
  let buffer = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake?.();
  });
  const frameLength = (): number | undefined => {
    if (buffer.length < 16) return undefined;
    if (buffer[0] === 0x69) return 16;
    const total = 16 + buffer.readUInt16LE(6) + 1;
    return buffer.length >= total ? total : undefined;
  };
  return async function next(timeoutMs = 3000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = frameLength();
      if (n !== undefined) {
        const frame = Uint8Array.from(buffer.subarray(0, n));
        buffer = buffer.subarray(n);
        return frame;
      }
      if (Date.now() > deadline) throw new Error(`no frame from the target (have ${buffer.toString('hex')})`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
}

/**
 * After `b` + RESET: the RESET reply, then the state change. A target that was already waiting
 * for a debugger has sent its first state change with the SYNC id (0x80800800) before the RESET
 * arrived (Windows does, spec A.4); radare2 skips such packets, and so does this reader.
 */
async function resetExchange(next: () => Promise<Uint8Array>): Promise<{ stateChange: Uint8Array; early: Uint8Array[] }> {
  const early: Uint8Array[] = [];
  for (let frame = await next(); ; frame = await next()) {
    if (Buffer.compare(frame, RESET) === 0) return { stateChange: await next(), early };
    early.push(frame);
    if (early.length > 2) throw new Error('no RESET reply');
  }
}

const repeats = { count: 0 };
/**
 * Frames after the state change, minus repeats of that same state change (ACKed and counted).
 * The TargetSession re-announces its stop after a RESET while the KDCOM link also retransmits the
 * unacknowledged SYNC copy, so one repeat can follow; radare2 ACKs and skips state changes it did
 * not wait for. More than one repeat fails the test.
 */
function skipRepeats(next: (timeoutMs?: number) => Promise<Uint8Array>, stateChange: Uint8Array, send: (b: Uint8Array) => void) {
  repeats.count = 0;
  const body = Buffer.from(stateChange.subarray(16));
  return async (): Promise<Uint8Array> => {
    for (;;) {
      const frame = await next();
      if (frame[0] !== 0x30 || frame[4] !== 7 || Buffer.compare(Buffer.from(frame.subarray(16)), body) !== 0) return frame;
      repeats.count++;
      send(ack(new DataView(frame.buffer).getUint32(8, true)));
    }
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function radare2Target(options: { startRunning: boolean }): Promise<{ sim: SimTarget; socket: net.Socket; next: ReturnType<typeof frameReader>; send: (bytes: Uint8Array) => void }> {
  const listener = await unixListener();
  const [socket, server] = await Promise.all([connectUnix(listener.path), listener.accepted]);
  // The default profile is the one of spec 4.1; replies capped at radare2's 2048-byte limit (spec 1.12).
  const sim = createSimTarget({ printIntervalMs: 0, startRunning: options.startRunning });
  const link: PacketLink = createKdcomLink(socketByteLink(server, 'target'), { role: 'debugger-facing' });
  const session: TargetSession = createTargetSession(link, sim, { maxReplyPayload: 2048 });
  cleanups.push(async () => {
    await session.close();
    await link.close();
    socket.destroy();
    listener.dispose();
    sim.close();
  });
  socket.on('error', () => undefined);
  return { sim, socket, next: frameReader(socket), send: (bytes) => void socket.write(bytes) };
}

async function radare2Session(startRunning: boolean): Promise<void> {
    const { next: nextFrame, send } = await radare2Target({ startRunning });
    // A.1: break-in byte and RESET → RESET reply, then the exception state change.
    send(A1_BREAKIN_RESET);
    const { stateChange, early } = await resetExchange(nextFrame);
    expect(early.every((f) => f[4] === 7 && new DataView(f.buffer).getUint32(8, true) === 0x80800800)).toBe(true);
    expect(stateChange.subarray(0, 8)).toEqual(A3_STATE_CHANGE_HEADER.subarray(0, 8)); // leader, type 7, 240 bytes
    expect(stateChange.subarray(8, 12)).toEqual(A3_STATE_CHANGE_HEADER.subarray(8, 12)); // id 0x80800000
    const sc = new DataView(stateChange.buffer, 16, 240);
    expect(Buffer.from(stateChange.subarray(16, 32)).toString('hex')).toBe('30300000060000000100000000000000');
    expect(sc.getBigUint64(0x10, true)).toBe(0xfffff80000500000n); // Thread
    expect(sc.getBigUint64(0x18, true)).toBe(0xfffff80000400000n); // ProgramCounter
    expect(sc.getUint32(0x20, true)).toBe(0x80000003);
    expect(sc.getUint32(0xb8, true)).toBe(1); // FirstChance
    expect(sc.getBigUint64(0xc8, true)).toBe(0x400n); // Dr7
    expect(sc.getUint32(0xd0, true)).toBe(0x202); // EFlags
    expect(Buffer.from(stateChange.subarray(16 + 0xd8, 16 + 0xdc)).toString('hex')).toBe('ccc39090'); // instruction stream
    expect([0xe8, 0xea, 0xec, 0xee].map((o) => sc.getUint16(o, true))).toEqual([0x10, 0x2b, 0x2b, 0x53]);
    expect(stateChange.at(-1)).toBe(0xaa);
    send(ack(0x80800000));
    const next = skipRepeats(nextFrame, stateChange, send);

    // A.2 GetVersion → A.3 reply, byte for byte (id 0x80800001, checksum 0xbdf).
    send(A2_GET_VERSION);
    expect(await next()).toEqual(ack(0x80800000));
    expect(await next()).toEqual(A3_GET_VERSION_REPLY);
    send(ack(0x80800001));

    // A.2 ReadVirtualMemory of DebuggerDataList → A.3 reply, byte for byte.
    send(A2_READ_DEBUGGER_DATA_LIST);
    expect(await next()).toEqual(ack(0x80800001));
    expect(await next()).toEqual(A3_READ_REPLY);
    send(ack(0x80800000));

    // What radare2 reads next (spec 2.9): PaeEnabled, the CmNtCSDVersion pointer, the ULONG (SP1).
    const read = async (id: number, address: bigint, length: number): Promise<Uint8Array> => {
      send(request(id, 0x3130, (v) => (v.setBigUint64(0x10, address, true), v.setUint32(0x18, length, true))));
      expect(await next()).toEqual(ack(id));
      const reply = await next();
      send(ack(new DataView(reply.buffer).getUint32(8, true)));
      expect(new DataView(reply.buffer).getUint32(16 + 8, true)).toBe(0); // ReturnStatus
      return reply.subarray(16 + 56, -1);
    };
    expect(await read(0x80800000, 0xfffff80000200036n, 2)).toEqual(hex('0100'));
    expect(await read(0x80800001, 0xfffff80000200268n, 8)).toEqual(hex('00003000 00f8ffff'));
    expect(await read(0x80800000, 0xfffff80000300000n, 4)).toEqual(hex('00010000'));

    // A.2 WriteBreakPoint at 0xfffff80000400001 → handle 1.
    send(A2_WRITE_BREAKPOINT);
    expect(await next()).toEqual(ack(0x80800001));
    const bp = await next();
    expect(new DataView(bp.buffer).getUint32(16 + 8, true)).toBe(0);
    expect(new DataView(bp.buffer).getUint32(16 + 0x18, true)).toBe(1);
    send(ack(new DataView(bp.buffer).getUint32(8, true)));

    // A.2 ContinueApi2 → only an ACK; then the next state change: the int3 planted on the `ret`.
    send(A2_CONTINUE_API2);
    expect(await next()).toEqual(ack(0x80800000));
    const hit = await next();
    expect(hit[4]).toBe(7);
    expect(new DataView(hit.buffer).getBigUint64(16 + 0x18, true)).toBe(0xfffff80000400001n);
    send(ack(new DataView(hit.buffer).getUint32(8, true)));

    // RestoreBreakPoint handle 1 (checksum 0x67) → success.
    const restore = request(0x80800001, 0x3135, (v) => v.setUint32(0x10, 1, true));
    expect(new DataView(restore.buffer).getUint32(12, true)).toBe(0x67);
    send(restore);
    expect(await next()).toEqual(ack(0x80800001));
    const restored = await next();
    expect(new DataView(restored.buffer).getUint32(16 + 8, true)).toBe(0);
    expect(repeats.count).toBeLessThanOrEqual(1);
  }

const noUnixSockets = skipUnlessCapable('unix-sockets');

describe.skipIf(noUnixSockets !== undefined)(titleWithSkip('the real radare2 attach bytes (KD spec 4.1, appendix A)', noUnixSockets), () => {
  // radare2 sends `b` then RESET (spec 1.10): the break-in stops the running kernel at
  // DbgBreakPointWithStatus, and the exchange is exactly the one of spec 4.1 / appendix A.
  it('answers radare2’s sequence exactly as listed (kernel running when radare2 connects)', () => radare2Session(true));

  // Stopped when radare2 connects: the state change is already queued with the SYNC id; after the
  // RESET only the link retransmits it (the session must not announce a second copy, or the
  // target answers radare2's GetVersion with RESEND and radare2 abandons the request, spec 4.1).
  it('answers radare2’s sequence exactly as listed (kernel stopped when radare2 connects)', () => radare2Session(false));

  it('keeps every reply within radare2’s 2048-byte limit and fails unreadable memory with no data', async () => {
    const { next, send } = await radare2Target({ startRunning: true });
    send(A1_BREAKIN_RESET);
    const { stateChange } = await resetExchange(next);
    send(ack(new DataView(stateChange.buffer).getUint32(8, true)));
    // radare2 asks for 0x800 bytes of the code page: it gets 1992 (2048 − 56) and loops.
    send(request(0x80800000, 0x3130, (v) => (v.setBigUint64(0x10, 0xfffff80000400000n, true), v.setUint32(0x18, 0x800, true))));
    await next();
    const reply = await next();
    expect(new DataView(reply.buffer).getUint16(6, true)).toBe(2048);
    expect(new DataView(reply.buffer).getUint32(16 + 0x1c, true)).toBe(1992);
    expect(Buffer.from(reply.subarray(72, 80)).toString('hex')).toBe('ccc3909090909090');
    send(ack(new DataView(reply.buffer).getUint32(8, true)));
    // Everything outside the profile's pages is unreadable: 0xC0000001, ActualBytesRead 0, no data.
    send(request(0x80800001, 0x3130, (v) => (v.setBigUint64(0x10, 0xfffff80000850000n, true), v.setUint32(0x18, 8, true))));
    await next();
    const fail = await next();
    expect(new DataView(fail.buffer).getUint16(6, true)).toBe(56);
    expect(new DataView(fail.buffer).getUint32(16 + 8, true)).toBe(0xc0000001);
    expect(new DataView(fail.buffer).getUint32(16 + 0x1c, true)).toBe(0);
  });
});
