import { describe, expect, it } from 'vitest';
import { parseSize, parseSourceUri } from './source-uri.js';

describe('memory source URIs', () => {
  it('parses file and qemu sources with their options', () => {
    expect(parseSourceUri('file:/dev/shm/win10.ram')).toEqual({ kind: 'file', path: '/dev/shm/win10.ram' });
    expect(parseSourceUri('file:/dev/shm/vm.ram?layout=q35&lowmem=2G')).toEqual({ kind: 'file', path: '/dev/shm/vm.ram', layout: { kind: 'split', machine: 'q35', lowMemory: 2n << 30n } });
    expect(parseSourceUri('file:/vm/Windows.vmem,layout=linear')).toEqual({ kind: 'file', path: '/vm/Windows.vmem', layout: { kind: 'linear' } });
    expect(parseSourceUri('qemu:/run/vm.qmp?pid=42')).toEqual({ kind: 'qemu', socket: '/run/vm.qmp', pid: 42 });
    expect(parseSourceUri('qemu:///run/vm.qmp')).toEqual({ kind: 'qemu', socket: '/run/vm.qmp' });
  });

  it.each([
    ['vmem:/x', /expected file:PATH or qemu:QMP_SOCKET/],
    ['file:', /expected file/],
    ['file:/x?layout=ia64', /layout "ia64"/],
    ['file:/x?lowmem=2G', /lowmem= needs layout=q35/],
    ['file:/x?colour=red', /unknown option "colour"/],
    ['qemu:/x?pid=abc', /pid "abc"/],
  ])('refuses %s with ERR_VMM_BAD_URI', (uri, message) => {
    expect(() => parseSourceUri(uri)).toThrow(expect.objectContaining({ code: 'ERR_VMM_BAD_URI' }));
    expect(() => parseSourceUri(uri)).toThrow(message);
  });

  it('reads sizes', () => {
    expect(parseSize('2G')).toBe(2n << 30n);
    expect(parseSize('0x80000000')).toBe(0x80000000n);
    expect(parseSize('3072MiB')).toBe(3072n << 20n);
    expect(() => parseSize('lots')).toThrow(expect.objectContaining({ code: 'ERR_VMM_BAD_URI' }));
  });
});
