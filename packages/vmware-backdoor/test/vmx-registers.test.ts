import { describe, expect, it } from 'vitest';
import { isVmkdError } from '@vmkd/kd-protocol';
import {
  BDOOR_MAGIC,
  BDOOR_PORT,
  BDOORHB_PORT,
  BackdoorCommand,
  GUESTMSG_FLAG_COOKIE,
  MessageType,
  RPCI_PROTOCOL,
  TCLO_PROTOCOL,
  createEmulatedVmx,
  messageEcx,
  type BackdoorRegs,
  type EmulatedVmx,
} from '../src/index.js';

const text = new TextDecoder();
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

interface Chan {
  id: number;
  hi: number;
  lo: number;
}

async function open(vmx: EmulatedVmx, protocol = RPCI_PROTOCOL | GUESTMSG_FLAG_COOKIE): Promise<{ regs: BackdoorRegs; chan: Chan }> {
  const regs = await vmx.call({ eax: BDOOR_MAGIC, ebx: protocol >>> 0, ecx: messageEcx(MessageType.Open), edx: BDOOR_PORT, esi: 0, edi: 0 });
  return { regs, chan: { id: regs.edx >>> 16, hi: regs.esi, lo: regs.edi } };
}

function msg(chan: Chan, type: number, ebx = 0): BackdoorRegs {
  return { eax: BDOOR_MAGIC, ebx, ecx: messageEcx(type), edx: ((chan.id << 16) | BDOOR_PORT) >>> 0, esi: chan.hi, edi: chan.lo };
}

/** LB send of a whole message, word by word, as open-vm-tools does. */
async function lbSend(vmx: EmulatedVmx, chan: Chan, data: Uint8Array): Promise<number[]> {
  const statuses = [(await vmx.call(msg(chan, MessageType.SendSize, data.length))).ecx];
  for (let off = 0; off < data.length; off += 4) {
    let word = 0;
    for (let i = 0; i < 4 && off + i < data.length; i++) word |= data[off + i] << (8 * i);
    statuses.push((await vmx.call(msg(chan, MessageType.SendPayload, word >>> 0))).ecx);
  }
  return statuses;
}

async function lbReceive(vmx: EmulatedVmx, chan: Chan): Promise<Uint8Array> {
  const size = await vmx.call(msg(chan, MessageType.RecvSize));
  expect(size.ecx >>> 16 & 0x3).toBe(0x3); // SUCCESS|DORECV
  expect(size.edx >>> 16).toBe(1);
  const out = new Uint8Array(size.ebx);
  for (let off = 0; off < out.length; off += 4) {
    const r = await vmx.call(msg(chan, MessageType.RecvPayload, 1));
    expect(r.ecx).toBe(0x00010000);
    expect(r.edx >>> 16).toBe(2);
    for (let i = 0; i < 4 && off + i < out.length; i++) out[off + i] = (r.ebx >>> (8 * i)) & 0xff;
  }
  expect((await vmx.call(msg(chan, MessageType.RecvStatus, 1))).ecx).toBe(0x00010000);
  return out;
}

describe('emulated VMX: backdoor basics', () => {
  it('GETVERSION answers version 6, the magic in EBX and the product type', async () => {
    const vmx = createEmulatedVmx({ productType: 2 });
    const r = await vmx.call({ eax: BDOOR_MAGIC, ebx: 0, ecx: BackdoorCommand.GetVersion, edx: BDOOR_PORT, esi: 7, edi: 9 });
    expect(r).toMatchObject({ eax: 6, ebx: BDOOR_MAGIC, ecx: 2, edx: BDOOR_PORT, esi: 7, edi: 9 });
  });

  it('a wrong magic or port answers EAX = 0xFFFFFFFF and leaves the rest alone', async () => {
    const vmx = createEmulatedVmx();
    const base = { eax: 0x12345678, ebx: 5, ecx: BackdoorCommand.GetVersion, edx: BDOOR_PORT, esi: 1, edi: 2 };
    expect(await vmx.call(base)).toEqual({ ...base, eax: 0xffffffff });
    const wrongPort = { ...base, eax: BDOOR_MAGIC, edx: 0x5657 };
    expect(await vmx.call(wrongPort)).toEqual({ ...wrongPort, eax: 0xffffffff });
    expect(vmx.stats().refused).toBe(2);
  });

  it('"not VMware" makes every access fail with ERR_VMX_NOT_VMWARE', async () => {
    const vmx = createEmulatedVmx();
    vmx.setNotVmware(true);
    await expect(vmx.call({ eax: BDOOR_MAGIC, ebx: 0, ecx: 10, edx: BDOOR_PORT, esi: 0, edi: 0 })).rejects.toMatchObject({ code: 'ERR_VMX_NOT_VMWARE' });
  });

  it('hypercall form: DX flags 0 for LB', async () => {
    const vmx = createEmulatedVmx();
    const r = await vmx.call({ eax: BDOOR_MAGIC, ebx: 0, ecx: BackdoorCommand.GetVersion, edx: 0, esi: 0, edi: 0 });
    expect(r.ebx).toBe(BDOOR_MAGIC);
  });
});

describe('emulated VMX: GuestRPC register by register', () => {
  it('OPEN gives SUCCESS, a channel id in EDX and random cookies in ESI/EDI', async () => {
    const vmx = createEmulatedVmx();
    const a = await open(vmx);
    const b = await open(vmx);
    expect(a.regs.ecx).toBe(0x00010000);
    expect(a.regs.edx & 0xffff).toBe(BDOOR_PORT);
    expect(b.chan.id).not.toBe(a.chan.id);
    expect([a.chan.hi, a.chan.lo]).not.toEqual([b.chan.hi, b.chan.lo]);
    expect(vmx.openChannelIds()).toEqual([a.chan.id, b.chan.id].sort((x, y) => x - y));
  });

  it('LB round trip of info-set / info-get with 1–3 byte tails', async () => {
    const vmx = createEmulatedVmx();
    const { chan } = await open(vmx);
    const statuses = await lbSend(vmx, chan, bytes('info-set guestinfo.answer 42!'));
    expect(statuses[0]).toBe(0x00810000); // SUCCESS|HB
    expect(statuses.slice(1).every((s) => s === 0x00010000)).toBe(true);
    expect(text.decode(await lbReceive(vmx, chan))).toBe('1 ');
    await lbSend(vmx, chan, bytes('info-get guestinfo.answer'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('1 42!');
    await lbSend(vmx, chan, bytes('info-get guestinfo.missing'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('0 No value found');
    await lbSend(vmx, chan, bytes('no.such.command arg'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('0 Unknown command');
    expect((await vmx.call(msg(chan, MessageType.Close))).ecx).toBe(0x00010000);
    expect(vmx.openChannelIds()).toEqual([]);
  });

  it('HB path as VirtualKD drives it: exact ECX values, reply id echoed in RECVSTATUS', async () => {
    const vmx = createEmulatedVmx();
    vmx.register('echo', (args) => args);
    const { chan } = await open(vmx);
    const payload = new Uint8Array(60_000).map((_, i) => (i * 7) & 0xff);
    const request = new Uint8Array(5 + payload.length);
    request.set(bytes('echo '));
    request.set(payload, 5);
    expect((await vmx.call(msg(chan, MessageType.SendSize, request.length))).ecx).toBe(0x00810000);
    const sent = await vmx.hbOut(
      { eax: BDOOR_MAGIC, ebx: 0x00010000, ecx: request.length, edx: ((chan.id << 16) | BDOORHB_PORT) >>> 0, esi: 0, edi: chan.lo, ebp: chan.hi },
      request,
    );
    expect(sent.ebx).toBe(0x00010000);
    const size = await vmx.call(msg(chan, MessageType.RecvSize));
    expect(size.ecx).toBe(0x00830000);
    expect(size.ebx).toBe(payload.length + 2);
    const got = await vmx.hbIn(
      { eax: BDOOR_MAGIC, ebx: 0x00010000, ecx: size.ebx, edx: ((chan.id << 16) | BDOORHB_PORT) >>> 0, esi: chan.hi, edi: 0, ebp: chan.lo },
      size.ebx,
    );
    expect(got.regs.ebx).toBe(0x00010000);
    expect(text.decode(got.data.subarray(0, 2))).toBe('1 ');
    expect(got.data.subarray(2)).toEqual(payload);
    expect((await vmx.call(msg(chan, MessageType.RecvStatus, size.edx))).ecx).toBe(0x00010000);
    // The reply is gone after RECVSTATUS.
    expect((await vmx.call(msg(chan, MessageType.RecvSize))).ecx).toBe(0x00010000);
  });

  it('an HB send of the wrong length fails, and the channel still works afterwards', async () => {
    const vmx = createEmulatedVmx();
    const { chan } = await open(vmx);
    await vmx.call(msg(chan, MessageType.SendSize, 10));
    const bad = await vmx.hbOut(
      { eax: BDOOR_MAGIC, ebx: 0x00010000, ecx: 9, edx: ((chan.id << 16) | BDOORHB_PORT) >>> 0, esi: 0, edi: chan.lo, ebp: chan.hi },
      new Uint8Array(9),
    );
    expect(bad.ebx >>> 16).toBe(0);
    await lbSend(vmx, chan, bytes('log hello'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('1 ');
    expect(vmx.logLines()).toEqual(['hello']);
  });

  it('bad cookies, unknown channels and oversized messages fail with status 0 while other channels keep working', async () => {
    const vmx = createEmulatedVmx();
    const { chan } = await open(vmx);
    const { chan: other } = await open(vmx);
    expect((await vmx.call(msg({ ...chan, lo: (chan.lo ^ 1) >>> 0 }, MessageType.SendSize, 4))).ecx).toBe(0);
    expect((await vmx.call(msg({ ...chan, id: 99 }, MessageType.SendSize, 4))).ecx).toBe(0);
    expect((await vmx.call(msg(chan, MessageType.SendSize, 64 * 1024 + 1))).ecx).toBe(0);
    expect((await vmx.call(msg(chan, MessageType.RecvPayload, 1))).ecx).toBe(0); // nothing to receive
    await lbSend(vmx, other, bytes('info-set guestinfo.k v'));
    expect(text.decode(await lbReceive(vmx, other))).toBe('1 ');
    await lbSend(vmx, chan, bytes('info-get guestinfo.k'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('1 v');
  });

  it('a closed channel refuses further calls', async () => {
    const vmx = createEmulatedVmx();
    const { chan } = await open(vmx);
    await vmx.call(msg(chan, MessageType.Close));
    expect((await vmx.call(msg(chan, MessageType.SendSize, 1))).ecx).toBe(0);
  });

  it('the channel table is bounded; closing frees a slot', async () => {
    const vmx = createEmulatedVmx({ maxChannels: 2 });
    const a = await open(vmx);
    await open(vmx);
    expect((await open(vmx)).regs.ecx).toBe(0);
    await vmx.call(msg(a.chan, MessageType.Close));
    expect((await open(vmx)).regs.ecx).toBe(0x00010000);
  });

  it('OPEN refuses unknown protocols and accepts RPCI without cookies', async () => {
    const vmx = createEmulatedVmx();
    expect((await open(vmx, 0x12345678)).regs.ecx).toBe(0);
    const plain = await open(vmx, RPCI_PROTOCOL);
    expect(plain.regs.ecx).toBe(0x00010000);
    expect([plain.chan.hi, plain.chan.lo]).toEqual([0, 0]);
  });

  it('fault injection: CPT on the n-th access, CLOSED and TIMEOUT free the channel', async () => {
    const vmx = createEmulatedVmx();
    const { chan } = await open(vmx);
    vmx.injectFault('checkpoint', 2);
    expect((await vmx.call(msg(chan, MessageType.SendSize, 8))).ecx).toBe(0x00810000);
    expect((await vmx.call(msg(chan, MessageType.SendPayload, 0x41414141))).ecx).toBe(0x00100000); // CPT only
    expect((await vmx.call(msg(chan, MessageType.SendPayload, 0x41414141))).ecx).toBe(0); // must restart at SENDSIZE
    vmx.injectFault('closed');
    expect((await vmx.call(msg(chan, MessageType.SendSize, 8))).ecx).toBe(0x00040000);
    expect(vmx.openChannelIds()).toEqual([]);
    const second = await open(vmx);
    vmx.injectFault('timeout');
    expect((await vmx.call(msg(second.chan, MessageType.RecvSize))).ecx).toBe(0x00400000);
    expect(vmx.openChannelIds()).toEqual([]);
  });

  it('HB switched off: SENDSIZE no longer offers it and HB transfers fail', async () => {
    const vmx = createEmulatedVmx({ highBandwidth: false });
    const { chan } = await open(vmx);
    expect((await vmx.call(msg(chan, MessageType.SendSize, 4))).ecx).toBe(0x00010000);
    const r = await vmx.hbOut(
      { eax: BDOOR_MAGIC, ebx: 0x00010000, ecx: 4, edx: ((chan.id << 16) | BDOORHB_PORT) >>> 0, esi: 0, edi: chan.lo, ebp: chan.hi },
      bytes('log '),
    );
    expect(r.ebx).toBe(0);
  });

  it('TCLO: the guest polls with its reply and receives queued host commands', async () => {
    const vmx = createEmulatedVmx();
    const { chan } = await open(vmx, TCLO_PROTOCOL | GUESTMSG_FLAG_COOKIE);
    await lbSend(vmx, chan, new Uint8Array(0));
    expect((await vmx.call(msg(chan, MessageType.RecvSize))).ecx).toBe(0x00010000); // nothing queued
    vmx.sendTclo('reset');
    await lbSend(vmx, chan, bytes('OK ATR toolbox'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('reset');
    expect(vmx.tcloReplies().map((r) => text.decode(r))).toEqual(['OK ATR toolbox']);
  });

  it('handlers: prefix registration, thrown errors become "0 …", unregister', async () => {
    const vmx = createEmulatedVmx();
    const { chan } = await open(vmx);
    const off = vmx.register('custom.*', (_args, ctx) => `got ${ctx.command}`);
    vmx.register('boom', () => {
      throw new Error('exploded');
    });
    await lbSend(vmx, chan, bytes('custom.thing x'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('1 got custom.thing');
    await lbSend(vmx, chan, bytes('boom'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('0 exploded');
    off();
    await lbSend(vmx, chan, bytes('custom.thing x'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('0 Unknown command');
    await lbSend(vmx, chan, bytes('tools.capability.hgfs_server toolbox 1'));
    expect(text.decode(await lbReceive(vmx, chan))).toBe('1 ');
    let caught: unknown;
    try {
      vmx.register('bad name', () => '');
    } catch (error) {
      caught = error;
    }
    expect(isVmkdError(caught, 'ERR_VMX_BAD_HANDLER_NAME')).toBe(true);
  });
});
