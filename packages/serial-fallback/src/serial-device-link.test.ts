import { MockBinding } from '@serialport/binding-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isVmkdError } from '@vmkd/kd-protocol';
import { createSerialPortByteLink, openSerialByteLink } from './serial-device-link.js';

afterEach(() => MockBinding.reset());

describe('openSerialByteLink with the serialport mock binding', () => {
  it('writes in order, one at a time, and delivers what the device sends', async () => {
    MockBinding.createPort('/dev/mock0', { record: true });
    const port = await MockBinding.open({ path: '/dev/mock0', baudRate: 115_200 });
    const link = createSerialPortByteLink(port, 'serial:/dev/mock0');
    const received: number[] = [];
    link.data$.subscribe((chunk) => received.push(...chunk));
    await Promise.all([link.write(Uint8Array.of(1, 2)), link.write(Uint8Array.of(3)), link.write(Uint8Array.of(4, 5, 6))]);
    expect([...port.recording]).toEqual([1, 2, 3, 4, 5, 6]);
    port.emitData(Buffer.from([0x69, 0x69, 0x69, 0x69]));
    await vi.waitFor(() => expect(received).toEqual([0x69, 0x69, 0x69, 0x69]));
    expect(link.stats()).toMatchObject({ bytesOut: 6, chunksOut: 3, bytesIn: 4 });
    await link.close();
    expect(port.isOpen).toBe(false);
    const error = await link.write(Uint8Array.of(7)).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_LINK_CLOSED')).toBe(true);
  });

  it('opens through the binding it is given', async () => {
    MockBinding.createPort('/dev/mock1');
    const link = await openSerialByteLink({ path: '/dev/mock1', binding: MockBinding });
    expect(link.name).toBe('serial:/dev/mock1');
    await link.close();
  });

  it('rejects bad baud rates before opening anything', async () => {
    const error = await openSerialByteLink({ path: '/dev/mock0', baudRate: -1, binding: MockBinding }).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_SERIAL_BAD_OPTIONS')).toBe(true);
  });

  it('an unknown device is ERR_SERIAL_CONNECT_FAILED', async () => {
    const error = await openSerialByteLink({ path: '/dev/none', binding: MockBinding }).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_SERIAL_CONNECT_FAILED')).toBe(true);
  });
});
