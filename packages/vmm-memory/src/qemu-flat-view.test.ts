import { describe, expect, it } from 'vitest';
import { findUnixSocketInode, parseFlatViewRam, parseGpa2hva } from './qemu-flat-view.js';

/** `info mtree -f` of QEMU 7.2 (Debian), q35 with a 3 GiB memory-backend-file `ram`, trimmed. */
const MTREE = `FlatView #0
 AS "I/O", root: io
 Root memory region: io
  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan

FlatView #1
 AS "cpu-smm-0", root: memory
 Root memory region: memory
  0000000000000000-00000000000bffff (prio 0, ram): ram
  0000000000100000-000000007fffffff (prio 0, ram): ram @0000000000100000

FlatView #2
 AS "memory", root: system
 AS "cpu-memory-0", root: system
 Root memory region: system
  0000000000000000-00000000000bffff (prio 0, ram): ram
  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom
  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000
  0000000000100000-000000007fffffff (prio 0, ram): ram @0000000000100000
  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios
  0000000100000000-000000013fffffff (prio 0, ram): ram @0000000080000000

FlatView #3
 AS "mch", root: bus master container
 Root memory region: (none)
  No rendered FlatView
`;

describe('QEMU monitor text', () => {
  it('finds the RAM ranges of the system address space', () => {
    expect(parseFlatViewRam(MTREE)).toEqual([
      { start: 0n, end: 0xc0000n, region: 'ram', regionOffset: 0n },
      { start: 0x100000n, end: 0x80000000n, region: 'ram', regionOffset: 0x100000n },
      { start: 0x100000000n, end: 0x140000000n, region: 'ram', regionOffset: 0x80000000n },
    ]);
  });

  it('reads gpa2hva answers', () => {
    expect(parseGpa2hva('Host virtual address for 0x0 (ram) is 0x7f0257fff000\r\n')).toBe(0x7f0257fff000n);
    expect(parseGpa2hva('Error: No memory is mapped at address 0xa0000000\r\n')).toBeUndefined();
  });

  it('finds a listening socket in /proc/net/unix', () => {
    const table = `Num       RefCount Protocol Flags    Type St Inode Path
00000000d3288554: 00000002 00000000 00010000 0001 01 21850 /tmp/vm.qmp
00000000d3288555: 00000003 00000000 00000000 0001 03 21851 /tmp/vm.qmp`;
    expect(findUnixSocketInode(table, '/tmp/vm.qmp')).toBe(21850);
    expect(findUnixSocketInode(table, '/tmp/other')).toBeUndefined();
  });
});
