import { describe, expect, it } from 'vitest';
import { gdbMajor, launcherScript, mountsUnder, newerGdbDir, newerGdbLauncher } from './newer-gdb.mjs';

describe('newer-gdb', () => {
  it('reads the major version from the first line of gdb --version, Debian or upstream', () => {
    expect(gdbMajor('GNU gdb (Debian 16.3-1) 16.3\nCopyright (C) 2024 Free Software Foundation, Inc.\n')).toBe(16);
    expect(gdbMajor('GNU gdb (Debian 13.1-3) 13.1\n')).toBe(13);
    expect(gdbMajor('GNU gdb (GDB) 17.0.50.20261101-git\n')).toBe(17);
    expect(gdbMajor('lldb version 14.0.6\n')).toBeUndefined();
  });

  it('keeps its tree in the user cache, never the checkout, and lets VMKD_NEWER_GDB name another gdb', () => {
    expect(newerGdbDir({}, '/home/dev/')).toBe('/home/dev/.cache/vmkd-newer-gdb');
    expect(newerGdbDir({ XDG_CACHE_HOME: '/var/cache/dev' }, '/home/dev')).toBe('/var/cache/dev/vmkd-newer-gdb');
    expect(newerGdbDir({ VMKD_NEWER_GDB_CACHE: '/srv/gdb' }, '/home/dev')).toBe('/srv/gdb');
    expect(newerGdbLauncher({}, '/home/dev')).toBe('/home/dev/.cache/vmkd-newer-gdb/gdb');
    expect(newerGdbLauncher({ VMKD_NEWER_GDB: '/opt/gdb-16/bin/gdb' }, '/home/dev')).toBe('/opt/gdb-16/bin/gdb');
  });

  it('finds what a killed debootstrap left mounted inside the tree, and nothing beside it', () => {
    const mounts = [
      '/dev/vda / ext4 rw 0 0',
      'proc /home/dev/.cache/vmkd-newer-gdb/root/proc proc rw 0 0',
      'proc /home/dev/.cache/vmkd-newer-gdb-old/root/proc proc rw 0 0',
      '',
    ].join('\n');
    expect(mountsUnder('/home/dev/.cache/vmkd-newer-gdb', mounts)).toEqual(['/home/dev/.cache/vmkd-newer-gdb/root/proc']);
    expect(mountsUnder('/home/dev/.cache/vmkd-newer-gdb/', mounts)).toEqual(['/home/dev/.cache/vmkd-newer-gdb/root/proc']);
  });

  it('runs gdb through the tree\'s own loader, libraries, data directory and Python', () => {
    const script = launcherScript();
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain('"$R/lib64/ld-linux-x86-64.so.2" --library-path "$R/lib/x86_64-linux-gnu:$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin/gdb"');
    expect(script).toContain('--data-directory="$R/usr/share/gdb"');
    expect(script).toContain('PYTHONHOME="$R/usr"');
  });
});
