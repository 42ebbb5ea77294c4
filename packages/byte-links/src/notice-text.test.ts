import { describe, expect, it } from 'vitest';
import { VmkdError } from '@vmkd/kd-protocol';
import { describeLinkNotice, formatDelay } from './notice-text.js';

describe('link notices, worded once for every command', () => {
  it('prints delays one way: milliseconds below ten seconds, seconds above', () => {
    expect(formatDelay(250)).toBe('250 ms');
    expect(formatDelay(4000)).toBe('4000 ms');
    expect(formatDelay(12_500)).toBe('12.5 s');
  });

  it('counts attempts, with the limit when there is one', () => {
    const error = new VmkdError('ERR_SERIAL_CONNECT_FAILED', 'unix:/x: cannot connect (ENOENT)');
    expect(describeLinkNotice({ kind: 'connect-failed', error, retryInMs: 500, attempt: 3 }, 'guest')).toBe(
      'guest not reachable (unix:/x: cannot connect (ENOENT)); retrying in 500 ms, attempt 3',
    );
    expect(describeLinkNotice({ kind: 'connect-failed', error, retryInMs: 500, attempt: 3, maxAttempts: 10 }, 'guest')).toMatch(/attempt 3 of 10$/);
    expect(describeLinkNotice({ kind: 'connect-failed', error, retryInMs: -1 }, 'guest')).toMatch(/giving up$/);
  });

  it('names who was refused or replaced', () => {
    expect(describeLinkNotice({ kind: 'refused', peer: 'unix:/kd.sock', reason: 'busy' }, 'debugger')).toBe('debugger unix:/kd.sock refused: busy');
    expect(describeLinkNotice({ kind: 'replaced', peer: 'a', by: 'b' }, 'debugger')).toBe('debugger b takes over from a');
  });
});
