import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { VmkdError, type ByteLink } from '@vmkd/kd-protocol';
import type { LinkNotice } from './persistent-kdcom-link.js';
import { reconnectingByteLinks$ } from './reconnecting-byte-links.js';

describe('reconnectingByteLinks$', () => {
  it('stops at once on an error marked permanent (a device path that does not exist)', async () => {
    let attempts = 0;
    const notices: LinkNotice[] = [];
    const open = (): Promise<ByteLink> => {
      attempts += 1;
      return Promise.reject(new VmkdError('ERR_SERIAL_CONNECT_FAILED', 'serial:/dev/nope: cannot open (No such file or directory)', { details: { errno: 'ENOENT', permanent: true } }));
    };
    const error = await firstValueFrom(reconnectingByteLinks$(open, { initialDelayMs: 1 }, (n) => notices.push(n)).pipe(toArray())).catch((e: unknown) => e);
    expect((error as VmkdError).code).toBe('ERR_SERIAL_CONNECT_FAILED');
    expect(attempts).toBe(1);
    expect(notices).toEqual([]);
  });

  it('retries other failures with a visible count and stops at the limit', async () => {
    let attempts = 0;
    const notices: LinkNotice[] = [];
    const open = (): Promise<ByteLink> => {
      attempts += 1;
      return Promise.reject(new VmkdError('ERR_SERIAL_CONNECT_FAILED', 'unix:/x: cannot connect (ECONNREFUSED)'));
    };
    const error = await firstValueFrom(reconnectingByteLinks$(open, { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 }, (n) => notices.push(n)).pipe(toArray())).catch(
      (e: unknown) => e,
    );
    expect((error as VmkdError).code).toBe('ERR_SERIAL_CONNECT_FAILED');
    expect(attempts).toBe(3);
    expect(notices.map((n) => (n.kind === 'connect-failed' ? [n.attempt, n.maxAttempts] : []))).toEqual([
      [1, 3],
      [2, 3],
    ]);
  });
});
