import { describe, expect, it } from 'vitest';
import { isVmkdError } from '@vmkd/kd-protocol';
import { createEmulatedVmx, createRpci, openMessageChannel, type BackdoorPort, type BackdoorRegs } from '../src/index.js';

const text = new TextDecoder();

/** Records every access the client makes, to count traps per path. */
function counting(port: BackdoorPort): { port: BackdoorPort; log: string[] } {
  const log: string[] = [];
  return {
    log,
    port: {
      call: (regs: BackdoorRegs) => {
        log.push(`lb:${regs.ecx >>> 16}`);
        return port.call(regs);
      },
      hbOut: (regs, data) => {
        log.push('hbOut');
        return port.hbOut(regs, data);
      },
      hbIn: (regs, length) => {
        log.push('hbIn');
        return port.hbIn(regs, length);
      },
    },
  };
}

async function rejectCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isVmkdError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('guest-side GuestRPC against the emulated VMX', () => {
  it('HB path: 7 traps per RPCI whatever the size, 64 KiB round trip', async () => {
    const vmx = createEmulatedVmx();
    vmx.register('echo', (args) => args);
    const { port, log } = counting(vmx);
    const rpci = createRpci(port);
    const payload = new Uint8Array(64 * 1024 - 5).map((_, i) => (i * 13 + 1) & 0xff);
    const request = new Uint8Array(64 * 1024);
    request.set(new TextEncoder().encode('echo '));
    request.set(payload, 5);
    const reply = await rpci.send(request);
    expect(reply.ok).toBe(true);
    expect(reply.result).toEqual(payload);
    expect(log).toEqual(['lb:0', 'lb:1', 'hbOut', 'lb:3', 'hbIn', 'lb:5', 'lb:6']);
    expect(vmx.openChannelIds()).toEqual([]);
  });

  it('LB path: 5 + ceil(request/4) + ceil(reply/4) traps, odd lengths intact', async () => {
    const vmx = createEmulatedVmx();
    const { port, log } = counting(vmx);
    const rpci = createRpci(port, { lowBandwidthOnly: true });
    expect((await rpci.send('info-set guestinfo.x abcdefg')).ok).toBe(true); // 27 bytes → 7 payload calls
    log.length = 0;
    const got = await rpci.send('info-get guestinfo.x'); // 20 bytes; reply "1 abcdefg" = 9 bytes
    expect(got.text).toBe('abcdefg');
    expect(log.length).toBe(5 + 5 + 3);
  });

  it('LB path when the VMX offers no HB at all', async () => {
    const vmx = createEmulatedVmx({ highBandwidth: false });
    vmx.register('echo', (args) => args);
    const rpci = createRpci(vmx);
    const data = new Uint8Array(1001).map((_, i) => i & 0xff);
    const request = new Uint8Array(5 + data.length);
    request.set(new TextEncoder().encode('echo '));
    request.set(data, 5);
    expect((await rpci.invoke(request))).toEqual(data);
    expect(vmx.stats().hbOut).toBe(0);
  });

  it('restarts after a checkpoint in the send and in the receive (LB and HB)', async () => {
    for (const lowBandwidthOnly of [true, false]) {
      const vmx = createEmulatedVmx();
      const rpci = createRpci(vmx, { lowBandwidthOnly });
      await rpci.invoke('info-set guestinfo.cpt survived');
      vmx.injectFault('checkpoint', 3); // open, sendsize, then the payload step
      expect(text.decode(await rpci.invoke('info-get guestinfo.cpt'))).toBe('survived');
      vmx.injectFault('checkpoint', lowBandwidthOnly ? 10 : 5); // a receive step
      expect(text.decode(await rpci.invoke('info-get guestinfo.cpt'))).toBe('survived');
    }
  });

  it('a checkpoint loop is bounded', async () => {
    const vmx = createEmulatedVmx();
    const channel = await openMessageChannel(vmx, { maxCheckpointRetries: 3 });
    for (let i = 1; i <= 10; i++) vmx.injectFault('checkpoint', i);
    expect(await rejectCode(channel.send(new TextEncoder().encode('log x')))).toBe('ERR_GUESTRPC_CHECKPOINT_LOOP');
  });

  it('CLOSED under a kept channel: the next command reopens', async () => {
    const vmx = createEmulatedVmx();
    const rpci = createRpci(vmx, { persistent: true });
    await rpci.invoke('info-set guestinfo.a 1');
    expect(vmx.openChannelIds().length).toBe(1);
    vmx.injectFault('closed'); // hits SENDSIZE of the next command: nothing sent, so it retries once
    expect(text.decode(await rpci.invoke('info-get guestinfo.a'))).toBe('1');
    vmx.injectFault('timeout', 3); // hits the HB send: reported
    expect(await rejectCode(rpci.invoke('info-get guestinfo.a'))).toBe('ERR_GUESTRPC_CHANNEL_CLOSED');
    expect(text.decode(await rpci.invoke('info-get guestinfo.a'))).toBe('1');
    await rpci.close();
    expect(vmx.openChannelIds()).toEqual([]);
  });

  it('typed errors: "0 " replies, unknown commands, oversized messages, open failures', async () => {
    const vmx = createEmulatedVmx({ maxChannels: 1 });
    const rpci = createRpci(vmx);
    expect(await rejectCode(rpci.invoke('info-get guestinfo.none'))).toBe('ERR_RPCI_COMMAND_FAILED');
    const unknown = await rpci.send('frobnicate');
    expect([unknown.ok, unknown.text]).toEqual([false, 'Unknown command']);
    expect(await rejectCode(rpci.send(new Uint8Array(64 * 1024 + 1)))).toBe('ERR_GUESTRPC_SEND_FAILED');
    expect(vmx.openChannelIds()).toEqual([]); // the failed transaction still closed its channel
    const hog = await openMessageChannel(vmx);
    expect(await rejectCode(rpci.send('log x'))).toBe('ERR_GUESTRPC_OPEN_FAILED');
    await hog.close();
    expect((await rpci.send('log x')).ok).toBe(true);
  });

  it('a reply that is not "1 "/"0 " is refused; an over-long reply is rejected with RECVSTATUS 0', async () => {
    const vmx = createEmulatedVmx();
    vmx.register('raw', () => ({ ok: true, reply: 'x' }));
    const port: BackdoorPort = {
      call: (r) => vmx.call(r),
      hbOut: (r, d) => vmx.hbOut(r, d),
      // Corrupt the status prefix on the way in.
      hbIn: async (r, n) => {
        const out = await vmx.hbIn(r, n);
        const data = out.data.slice();
        data[0] = 0x32;
        return { ...out, data };
      },
    };
    expect(await rejectCode(createRpci(port).send('raw'))).toBe('ERR_GUESTRPC_BAD_REPLY'.replace('GUESTRPC', 'RPCI'));
    vmx.register('big', () => new Uint8Array(5000));
    expect(await rejectCode(createRpci(vmx, { maxReplyLength: 4096 }).send('big'))).toBe('ERR_GUESTRPC_REPLY_TOO_LARGE');
    expect(vmx.openChannelIds()).toEqual([]);
  });

  it('falls back to a channel without cookies when the VMX refuses the cookie flag', async () => {
    const vmx = createEmulatedVmx();
    const port: BackdoorPort = {
      call: (r) => ((r.ecx >>> 16) === 0 && (r.ebx & 0x80000000) !== 0 ? Promise.resolve({ ...r, ecx: 0 }) : vmx.call(r)),
      hbOut: (r, d) => vmx.hbOut(r, d),
      hbIn: (r, n) => vmx.hbIn(r, n),
    };
    const channel = await openMessageChannel(port);
    expect(channel.cookies).toBe(false);
    await channel.send(new TextEncoder().encode('info-set guestinfo.c ok'));
    expect(text.decode((await channel.receive()))).toBe('1 ');
    await channel.close();
  });

  it('the hypercall register form works end to end', async () => {
    const vmx = createEmulatedVmx();
    const rpci = createRpci(vmx, { hypercall: true });
    await rpci.invoke('info-set guestinfo.h vmcall');
    expect(text.decode(await rpci.invoke('info-get guestinfo.h'))).toBe('vmcall');
  });

  it('a wrong EDX marker is a protocol error', async () => {
    const vmx = createEmulatedVmx();
    const port: BackdoorPort = {
      call: async (r) => {
        const out = await vmx.call(r);
        return (r.ecx >>> 16) === 4 ? { ...out, edx: out.edx & 0xffff } : out;
      },
      hbOut: (r, d) => vmx.hbOut(r, d),
      hbIn: (r, n) => vmx.hbIn(r, n),
    };
    expect(await rejectCode(createRpci(port, { lowBandwidthOnly: true }).send('log x'))).toBe('ERR_GUESTRPC_PROTOCOL');
  });
});
