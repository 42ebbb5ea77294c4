import { describe, expect, it } from 'vitest';
import { isVmkdError } from '@vmkd/kd-protocol';
import { pipeUri, toPipePath } from './pipe-path.js';

describe('toPipePath', () => {
  it('accepts the Windows, URI and bare spellings', () => {
    expect(toPipePath('\\\\.\\pipe\\kd_win10')).toBe('\\\\.\\pipe\\kd_win10');
    expect(toPipePath('//./pipe/kd_win10')).toBe('\\\\.\\pipe\\kd_win10');
    expect(toPipePath('kd_win10')).toBe('\\\\.\\pipe\\kd_win10');
    expect(pipeUri('\\\\.\\pipe\\kd_win10')).toBe('pipe://./pipe/kd_win10');
  });

  it('refuses empty names and separators inside the name', () => {
    for (const bad of ['', '//./pipe/', 'a/b', '\\\\.\\pipe\\a\\b']) {
      expect(isVmkdError((() => { try { toPipePath(bad); } catch (e) { return e; } })(), 'ERR_SERIAL_BAD_OPTIONS')).toBe(true);
    }
  });
});
