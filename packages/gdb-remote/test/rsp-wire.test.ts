import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGdbEndpoint, GdbRemoteErrorCode, type GdbEndpointNotice } from '../src/index.js';
import { encodeRspPacket } from '../src/rsp/rsp-encoder.js';
import { GlobalOffset, fillExpected } from '@vmkd/sim-target';
import { openSimRoute, type SimRoute } from './sim-route.js';

/** A raw RSP client on a real socket: what arrives is kept as text, so acks are visible. */
class RawClient {
  text = '';
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => (this.text += chunk.toString('latin1')));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Opens and turns acks off (QStartNoAckMode, answered OK), as gdb and lldb do first. */
  static async openNoAck(port: number): Promise<RawClient> {
    const c = await RawClient.open(port);
    c.packet('QStartNoAckMode');
    await c.expect(/\$OK#9a/);
    return c;
  }

  send(raw: string | Uint8Array): void {
    this.socket.write(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
  }

  packet(body: string): void {
    this.send(encodeRspPacket(body));
  }

  /** Waits until the received text matches, then returns the match and drops what it consumed. */
  async expect(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.text);
      if (m !== null) {
        this.text = this.text.slice(m.index + m[0].length);
        return m;
      }
      if (Date.now() > deadline) throw new Error(`no ${String(pattern)} in ${JSON.stringify(this.text)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async untilClosed(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the endpoint did not close the connection');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** The next reply's body, checksum checked and escapes undone (binary replies: `x`). */
async function binaryReply(c: RawClient): Promise<Uint8Array> {
  const m = await c.expect(/^\$([^#]*)#([0-9a-f]{2})/);
  const raw = Buffer.from(m[1], 'latin1');
  let sum = 0;
  for (const b of raw) sum += b;
  expect((sum & 0xff).toString(16).padStart(2, '0')).toBe(m[2]);
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) out.push(raw[i] === 0x7d ? raw[++i] ^ 0x20 : raw[i]);
  return Uint8Array.from(out);
}

describe('the RSP wire, with a raw client on a real socket', () => {
  let r: SimRoute;
  const notices: GdbEndpointNotice[] = [];

  beforeAll(async () => {
    r = await openSimRoute();
    r.endpoint.notices$.subscribe((n) => notices.push(n));
  });
  afterAll(async () => {
    await r?.close();
  });

  it('acks packets, asks again for a bad checksum, resends on -, answers bad packets with E, then drops acks on QStartNoAckMode', async () => {
    const c = await RawClient.open(r.endpoint.port);
    c.packet('qSupported:swbreak+');
    await c.expect(/^\+\$PacketSize=1ed00;QStartNoAckMode\+;qXfer:features:read\+;qXfer:libraries:read\+;swbreak\+;hwbreak\+;vContSupported\+;binary-upload\+#[0-9a-f]{2}/);
    c.send('+$?#00');
    await c.expect(/^-/);
    c.packet('?');
    const stop = await c.expect(/^\+(\$T05thread:1;[^#]*#[0-9a-f]{2})/);
    // Our `-` asks for the last packet again: the same frame comes back.
    c.send('-');
    expect((await c.expect(/^\$T05[^#]*#[0-9a-f]{2}/))[0]).toBe(stop[1]);
    c.send('+');
    for (const bad of ['mzz,4', 'M1000,4:cc', 'Z7,1,1', 'Hx1']) {
      c.packet(bad);
      await c.expect(/^\+\$E01#a6/);
    }
    c.packet('x'.repeat(0x1f000));
    await c.expect(/^\+\$E01#a6/);
    c.packet('vMustReplyEmpty');
    await c.expect(/^\+\$#00/);
    c.packet('QStartNoAckMode');
    await c.expect(/^\+\$OK#9a/);
    c.send('+');
    c.packet('qC');
    await c.expect(/^\$QC1#c5/);
    // Unreadable memory: an error, not an empty reply.
    c.packet('m10,4');
    await c.expect(/^\$E0e#da/);
    c.packet('D');
    await c.expect(/^\$OK#9a/);
    await c.untilClosed();
  });

  it("answers x gdb's way (b + the bytes, escaped) to a client that announced binary-upload", async () => {
    const c = await RawClient.open(r.endpoint.port);
    c.packet('qSupported:multiprocess+;binary-upload+;swbreak+');
    await c.expect(/binary-upload\+#[0-9a-f]{2}/);
    c.packet('QStartNoAckMode');
    await c.expect(/\$OK#9a/);
    c.send('+');
    c.packet('?');
    await c.expect(/^\$T05[^#]*#[0-9a-f]{2}/);
    c.packet('x0,0');
    await c.expect(/^\$b#62/);
    // Across three KD reads, and long enough that the random bytes hold every character to escape.
    const at = r.sim.layout.dataRegion.virtualBase + 0x3333n;
    c.packet(`x${at.toString(16)},2000`);
    const body = await binaryReply(c);
    expect(body[0]).toBe(0x62);
    expect(Buffer.compare(body.subarray(1), fillExpected(at, new Uint8Array(0x2000)))).toBe(0);
    c.packet('x10,4');
    await c.expect(/^\$E0e#da/);
    c.packet('k');
    await c.untilClosed();
  });

  it("answers x lldb's way (the bytes alone) after lldb's x0,0 probe, never sending what lldb would take for OK or an error", async () => {
    const c = await RawClient.open(r.endpoint.port);
    c.packet('qSupported:xmlRegisters=i386,arm,mips,arc;multiprocess+;fork-events+;vfork-events+');
    await c.expect(/binary-upload\+#[0-9a-f]{2}/);
    c.packet('QStartNoAckMode');
    await c.expect(/\$OK#9a/);
    c.send('+');
    c.packet('?');
    await c.expect(/^\$T05[^#]*#[0-9a-f]{2}/);
    c.packet('x0,0');
    await c.expect(/^\$OK#9a/);
    const at = r.sim.layout.dataRegion.virtualBase + 0x7777n;
    c.packet(`x${at.toString(16)},1000`);
    expect(Buffer.compare(await binaryReply(c), fillExpected(at, new Uint8Array(0x1000)))).toBe(0);
    // Memory that reads "E12", "OK", "+": each reply is still data to lldb.
    const odd = r.sim.layout.dataRegion.virtualBase + 0x100000n;
    const h = (v: bigint): string => v.toString(16);
    c.packet(`M${h(odd)},6:4531324f4b2b`);
    await c.expect(/^\$OK#9a/);
    c.packet(`x${h(odd)},3`);
    expect(Buffer.from(await binaryReply(c)).toString('latin1')).toBe('E');
    c.packet(`x${h(odd + 1n)},2`);
    expect(Buffer.from(await binaryReply(c)).toString('latin1')).toBe('12');
    c.packet(`x${h(odd + 3n)},2`);
    expect(Buffer.from(await binaryReply(c)).toString('latin1')).toBe('O');
    c.packet(`x${h(odd + 5n)},1`);
    expect(Buffer.from(await binaryReply(c)).toString('latin1')).toBe('+\u0000');
    c.packet(`M${h(odd)},6:${Buffer.from(fillExpected(odd, new Uint8Array(6))).toString('hex')}`);
    await c.expect(/^\$OK#9a/);
    c.packet('k');
    await c.untilClosed();
  });

  it('resends a memory reply on - exactly as first sent, though its buffer is reused once it cannot be asked for again', async () => {
    const c = await RawClient.open(r.endpoint.port);
    const base = r.sim.layout.dataRegion.virtualBase + 0x40000n;
    for (let i = 0; i < 4; i++) {
      const at = base + BigInt(i * 0x3000);
      c.packet(`m${at.toString(16)},3000`);
      const first = await c.expect(/^\+(\$[0-9a-f]*#[0-9a-f]{2})/);
      c.send('-');
      const again = await c.expect(/^\$[0-9a-f]*#[0-9a-f]{2}/);
      expect(again[0]).toBe(first[1]);
      expect(first[1].slice(1, -3)).toBe(Buffer.from(fillExpected(at, new Uint8Array(0x3000))).toString('hex'));
      c.send('+');
    }
    c.packet('k');
    await c.untilClosed();
  });

  it('answers an m longer than a packet with the part that fits (a partial read), not an error', async () => {
    const c = await RawClient.openNoAck(r.endpoint.port);
    c.packet('?');
    await c.expect(/\$T05[^#]*#[0-9a-f]{2}/);
    const at = r.sim.layout.dataRegion.virtualBase + 0x9000n;
    c.packet(`m${at.toString(16)},20000`);
    const m = await c.expect(/^\$([0-9a-f]*)#[0-9a-f]{2}/);
    expect(m[1].length).toBe(0x1ed00);
    expect(m[1]).toBe(Buffer.from(fillExpected(at, new Uint8Array(0x1ed00 / 2))).toString('hex'));
    c.packet('k');
    await c.untilClosed();
  });

  it('arms Z1–Z4 in the debug registers, refuses a fifth, a bad length and a misaligned address with E codes, and reports a watchpoint hit', async () => {
    const c = await RawClient.openNoAck(r.endpoint.port);
    c.packet('?');
    await c.expect(/\$T0[25]thread[^#]*#[0-9a-f]{2}/);
    const counter = r.sim.layout.globals + BigInt(GlobalOffset.IdleLoopCount);
    const inc = r.sim.layout.idleLoopJump - 17n;
    const hex = (v: bigint): string => v.toString(16);
    // Refused before anything is armed: bad lengths, misaligned, Z1 of another size.
    for (const [packet, reply] of [
      [`Z2,${hex(counter)},3`, 'E16'],
      [`Z4,${hex(counter)},10`, 'E16'],
      [`Z1,${hex(inc)},2`, 'E16'],
      [`Z2,${hex(counter + 4n)},8`, 'E0e'],
    ] as const) {
      c.packet(packet);
      await c.expect(new RegExp(`^\\$${reply}#[0-9a-f]{2}`));
    }
    expect(r.endpoint.session.armedDr7).toBe(0x400n);
    // Four fit; the fifth is refused with ENOSPC.
    for (const packet of [`Z1,${hex(inc)},1`, `Z3,${hex(counter)},8`, `Z4,${hex(counter)},4`, `Z2,${hex(counter)},8`]) {
      c.packet(packet);
      await c.expect(/^\$OK#9a/);
    }
    c.packet(`Z2,${hex(counter + 8n)},8`);
    await c.expect(/^\$E1c#[0-9a-f]{2}/);
    const special = await r.endpoint.session.getSpecialRegisters();
    expect([special.kernelDr0, special.kernelDr1, special.kernelDr2, special.kernelDr3]).toEqual([inc, counter, counter, counter]);
    // Only the write watchpoint stays: the kernel's `inc` of the counter stops it with watch:ADDR.
    for (const packet of [`z1,${hex(inc)},1`, `z3,${hex(counter)},8`, `z4,${hex(counter)},4`]) {
      c.packet(packet);
      await c.expect(/^\$OK#9a/);
    }
    c.packet('c');
    await c.expect(new RegExp(`^\\$T05thread:[0-9a-f]+;watch:${hex(counter)};10:[0-9a-f]{16};#[0-9a-f]{2}`));
    c.packet(`z2,${hex(counter)},8`);
    await c.expect(/^\$OK#9a/);
    expect(r.endpoint.session.armedDr7).toBe(0x400n);
    c.packet('k');
    await c.untilClosed();
  });

  it('a read watchpoint is not reported for writes: the kernel\'s `inc` of the watched counter runs on until an interrupt', async () => {
    const c = await RawClient.openNoAck(r.endpoint.port);
    c.packet('?');
    await c.expect(/\$T0[25]thread[^#]*#[0-9a-f]{2}/);
    const counter = r.sim.layout.globals + BigInt(GlobalOffset.IdleLoopCount);
    const read = (): bigint => new DataView(r.sim.readVirtual(counter, 8, 0).buffer).getBigUint64(0, true);
    const before = read();
    c.packet(`Z3,${counter.toString(16)},8`);
    await c.expect(/^\$OK#9a/);
    c.packet('c');
    // Every lap writes the counter (its slot fires) but no lap only reads it: no rwatch stop.
    const deadline = Date.now() + 30_000;
    while (read() < before + 5n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(read()).toBeGreaterThanOrEqual(before + 5n);
    expect(c.text).toBe('');
    c.send(Uint8Array.of(0x03));
    await c.expect(/^\$T02thread:[0-9a-f]+;10:[0-9a-f]{16};#[0-9a-f]{2}/);
    c.packet(`z3,${counter.toString(16)},8`);
    await c.expect(/^\$OK#9a/);
    c.packet('k');
    await c.untilClosed();
  });

  it('refuses a second client while one is attached, and serves it after the first detaches', async () => {
    const first = await RawClient.open(r.endpoint.port);
    first.packet('?');
    await first.expect(/\$T0[25]thread/);
    const second = await RawClient.open(r.endpoint.port);
    await second.untilClosed();
    expect(notices.some((n) => n.kind === 'refused')).toBe(true);
    first.packet('D');
    await first.expect(/\$OK#9a/);
    await first.untilClosed();
    const third = await RawClient.open(r.endpoint.port);
    third.packet('?');
    await third.expect(/\$T0[25]thread:1;/);
    third.packet('k');
    await third.untilClosed();
  });

  it('a client that vanishes while the kernel runs leaves it stopped and the route alive', async () => {
    const c = await RawClient.openNoAck(r.endpoint.port);
    c.packet('?');
    await c.expect(/\$T05/);
    c.packet('c');
    const deadline = Date.now() + 30_000;
    while (r.sim.stopReason() !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(r.sim.stopReason()).toBeUndefined();
    c.socket.destroy();
    while (r.sim.stopReason() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(r.sim.stopReason()).toBeDefined();
    const next = await RawClient.open(r.endpoint.port);
    next.packet('?');
    await next.expect(/\$T05thread:1;/);
    next.packet('m' + r.sim.layout.kernBase.toString(16) + ',2');
    await next.expect(/\$4d5a#/);
    next.packet('k');
    await next.untilClosed();
  });

  it('an interrupt byte stops a running kernel and the pending c answers T02', async () => {
    const c = await RawClient.openNoAck(r.endpoint.port);
    c.packet('c');
    const deadline = Date.now() + 30_000;
    while (r.sim.stopReason() !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    c.send(Uint8Array.of(0x03));
    await c.expect(/\$T02thread:1;/);
    expect(r.sim.stopReason()).toBeDefined();
    c.packet('k');
    await c.untilClosed();
  });
  it('an interrupt sent right behind its c still stops the kernel; one sent while nothing is pending is ignored', async () => {
    const c = await RawClient.openNoAck(r.endpoint.port);
    c.packet('?');
    await c.expect(/\$T0[25]thread[^#]*#[0-9a-f]{2}/);
    // In one write: the interrupt reaches the endpoint before the `c` has resumed the kernel.
    c.send(Buffer.concat([Buffer.from(encodeRspPacket('c')), Uint8Array.of(0x03)]));
    await c.expect(/^\$T02thread:[0-9a-f]+;[^#]*#[0-9a-f]{2}/);
    // A stray interrupt with nothing pending does not stop the next `c`.
    c.send(Uint8Array.of(0x03));
    c.packet('qC');
    await c.expect(/^\$QC[0-9a-f]+#[0-9a-f]{2}/);
    c.packet('c');
    const deadline = Date.now() + 30_000;
    while (r.sim.stopReason() !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.sim.stopReason()).toBeUndefined();
    expect(c.text).toBe('');
    c.send(Uint8Array.of(0x03));
    await c.expect(/^\$T02thread:/);
    c.packet('k');
    await c.untilClosed();
  });
});

describe('createGdbEndpoint options', () => {
  it('listens on loopback only unless allowRemote', async () => {
    await expect(createGdbEndpoint({ host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: GdbRemoteErrorCode.RemoteNotAllowed });
    await expect(createGdbEndpoint({ port: 70000 })).rejects.toMatchObject({ code: GdbRemoteErrorCode.BadOption });
    await expect(createGdbEndpoint({ port: 0, packetSize: 10 })).rejects.toMatchObject({ code: GdbRemoteErrorCode.BadOption });
  });

  it('reports a port in use as ERR_GDB_LISTEN', async () => {
    const a = await createGdbEndpoint({ port: 0 });
    try {
      await expect(createGdbEndpoint({ port: a.port })).rejects.toMatchObject({ code: GdbRemoteErrorCode.Listen });
    } finally {
      await a.close();
    }
  });
});
