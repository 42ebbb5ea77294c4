import { describe, expect, it } from 'vitest';
import { buildNames, buildProfile } from './builds.js';
import { KdDebuggerDataOffset, KDBG_OWNER_TAG } from '@vmkd/kd-protocol/kernel';
import { createSimTarget, type SimTarget } from './sim-target.js';

/** A debugger's-eye walker over the backend's own memory reads (no simulator internals). */
function reader(sim: SimTarget) {
  const bytes = (a: bigint, n: number): Uint8Array => {
    const b = sim.readVirtual(a, n, 0);
    if (b.length !== n) throw new Error(`unreadable 0x${a.toString(16)}`);
    return b;
  };
  const dv = (a: bigint, n: number) => {
    const b = bytes(a, n);
    return new DataView(b.buffer, b.byteOffset, n);
  };
  const u16 = (a: bigint) => dv(a, 2).getUint16(0, true);
  const u32 = (a: bigint) => dv(a, 4).getUint32(0, true);
  const u64 = (a: bigint) => dv(a, 8).getBigUint64(0, true);
  const unicode = (a: bigint) => {
    const length = u16(a);
    return Buffer.from(bytes(u64(a + 8n), length)).toString('utf16le');
  };
  const ansi = (a: bigint, max: number) => {
    const b = bytes(a, max);
    const end = b.indexOf(0);
    return Buffer.from(b.subarray(0, end < 0 ? max : end)).toString('latin1');
  };
  const list = (head: bigint): bigint[] => {
    const out: bigint[] = [];
    for (let e = u64(head); e !== head; e = u64(e)) {
      if (out.length > 100) throw new Error('list does not close');
      expect(u64(u64(e + 8n))).toBe(e); // Blink->Flink == self
      out.push(e);
    }
    return out;
  };
  return { bytes, u16, u32, u64, unicode, ansi, list };
}

describe.each(buildNames)('kernel structures of %s', (build) => {
  const sim = createSimTarget({ build, cpus: 2, memorySize: 64 * 1024 * 1024 });
  const r = reader(sim);
  const profile = buildProfile(build);
  const v = sim.version();
  const kdbg = r.u64(v.debuggerDataList);
  const field = (name: keyof typeof KdDebuggerDataOffset) => kdbg + BigInt(KdDebuggerDataOffset[name]);

  it('has a GetVersion consistent with the build', () => {
    expect(v).toMatchObject({ majorVersion: 0xf, minorVersion: profile.buildNumber, protocolVersion: 6, kdSecondaryVersion: 2, flags: 7, machineType: 0x8664 });
  });

  it('has KdDebuggerDataList → KDDEBUGGER_DATA64 consistent with GetVersion', () => {
    expect(r.u64(kdbg)).toBe(v.debuggerDataList); // the block links back to the list head
    expect(r.u32(field('OwnerTag'))).toBe(KDBG_OWNER_TAG);
    expect(r.u32(field('Size'))).toBe(profile.kdDebuggerDataSize);
    expect(r.u64(field('KernBase'))).toBe(v.kernBase);
    expect(r.u64(field('PsLoadedModuleList'))).toBe(v.psLoadedModuleList);
    expect(r.u16(field('PaeEnabled'))).toBe(1);
    expect(r.u32(r.u64(field('CmNtCSDVersion')))).toBe(profile.servicePack << 8);
    expect(r.ansi(r.u64(field('NtBuildLab')), 80)).toBe(profile.buildLab);
    expect(r.u64(r.u64(field('MmNumberOfPhysicalPages')))).toBe(BigInt(64 * 256));
    expect(r.bytes(r.u64(field('BreakpointWithStatus')), 2)).toEqual(Uint8Array.of(0xcc, 0xc3));
    expect(r.u16(field('OffsetEprocessDirectoryTableBase'))).toBe(0x28);
  });

  it('lists nt, hal, the transport and drivers with UNICODE_STRING names and PE headers', () => {
    const entries = r.list(v.psLoadedModuleList);
    const names = entries.map((e) => r.unicode(e + 0x58n));
    expect(names.slice(0, 3)).toEqual(['ntoskrnl.exe', 'hal.dll', 'kdcom.dll']);
    expect(names.length).toBe(sim.modules.length);
    expect(r.unicode(entries[0] + 0x48n)).toBe('\\SystemRoot\\system32\\ntoskrnl.exe');
    expect(r.u64(entries[0] + 0x30n)).toBe(v.kernBase);
    for (const e of entries) {
      const base = r.u64(e + 0x30n);
      const size = r.u32(e + 0x40n);
      expect(r.u16(base)).toBe(0x5a4d);
      const pe = base + BigInt(r.u32(base + 0x3cn));
      expect(r.u32(pe)).toBe(0x4550);
      expect(r.u16(pe + 4n)).toBe(0x8664);
      expect(r.u32(pe + 24n + 0x38n)).toBe(size); // SizeOfImage matches the list
      expect(r.u64(pe + 24n + 0x18n)).toBe(base); // ImageBase
    }
  });

  it('lists processes at the build offsets, System first with PID 4 and the kernel CR3', () => {
    const ep = profile.eprocess;
    const head = r.u64(field('PsActiveProcessHead'));
    const procs = r.list(head).map((links) => {
      const e = links - BigInt(ep.activeProcessLinks);
      return { pid: Number(r.u64(e + BigInt(ep.uniqueProcessId))), name: r.ansi(e + BigInt(ep.imageFileName), 15), dtb: r.u64(e + BigInt(ep.directoryTableBase)) };
    });
    expect(procs[0]).toMatchObject({ pid: 4, name: 'System' });
    expect(procs.map((p) => p.name)).toContain('explorer.exe');
    expect(procs[0].dtb).toBe(new DataView(sim.readControlSpace(0, 2n, 0xe0).buffer).getBigUint64(0x10, true));
    expect(new Set(procs.map((p) => p.dtb)).size).toBe(procs.length);
    // A process's DTB really maps the kernel: its PML4 holds the same kernel-half entries.
    const pml4 = sim.readPhysical(procs[1].dtb, 4096);
    const sys = sim.readPhysical(procs[0].dtb, 4096);
    for (let slot = 256; slot < 512; slot++) {
      const mine = pml4.subarray(slot * 8, slot * 8 + 8);
      if (slot === profile.selfMapIndex) expect(mine[0] | (mine[1] << 8) | (mine[2] << 16)).toBe(Number(procs[1].dtb & 0xfffffen) | 3);
      else expect(mine).toEqual(sys.subarray(slot * 8, slot * 8 + 8));
    }
  });

  it('gives each user process a user half of its own: its PEB, and SharedUserData at 0x7ffe0000', () => {
    const walk = (cr3: bigint, va: bigint): bigint | undefined => {
      let table = cr3 & 0xffffffffff000n;
      for (let level = 3; level >= 0; level--) {
        const entry = new DataView(sim.readPhysical(table + ((va >> BigInt(12 + 9 * level)) & 0x1ffn) * 8n, 8).buffer).getBigUint64(0, true);
        if ((entry & 1n) === 0n) return undefined;
        if (level > 0 && (entry & 0x80n) !== 0n) return (entry & 0xffffffffff000n & ~((1n << BigInt(12 + 9 * level)) - 1n)) + (va & ((1n << BigInt(12 + 9 * level)) - 1n));
        // A user mapping is user-accessible (U/S) at every level.
        if (va < 0x8000_0000_0000n) expect(entry & 4n).toBe(4n);
        table = entry & 0xffffffffff000n;
      }
      return table + (va & 0xfffn);
    };
    const users = sim.processes.filter((p) => p.pid !== 4);
    const kuser = walk(sim.processes[0].directoryTableBase, sim.layout.kuserSharedData);
    const pebPages = new Set<bigint>();
    for (const p of users) {
      const peb = walk(p.directoryTableBase, p.peb);
      expect(peb).toBeDefined();
      pebPages.add(peb!);
      expect(new DataView(sim.readPhysical(peb! + 0x10n, 8).buffer).getBigUint64(0, true) >> 32n).toBe(0x7ff6n);
      expect(walk(p.directoryTableBase, 0x7ffe0000n)).toBe(kuser);
      // Nobody else's PEB, and nothing of it in the kernel's own address space.
      for (const q of users) if (q !== p) expect(walk(p.directoryTableBase, q.peb)).toBeUndefined();
      expect(walk(sim.processes[0].directoryTableBase, p.peb)).toBeUndefined();
    }
    expect(pebPages.size).toBe(users.length);
  });

  it('chains KPCR → KPRCB → current thread → Idle process for every CPU', () => {
    const p = profile.processor;
    const block = r.u64(field('KiProcessorBlock'));
    for (let cpu = 0; cpu < 2; cpu++) {
      const pcr = new DataView(sim.readControlSpace(cpu, 0n, 8).buffer).getBigUint64(0, true);
      const prcb = new DataView(sim.readControlSpace(cpu, 1n, 8).buffer).getBigUint64(0, true);
      const thread = new DataView(sim.readControlSpace(cpu, 3n, 8).buffer).getBigUint64(0, true);
      expect(r.u64(pcr + BigInt(p.pcrSelf))).toBe(pcr);
      expect(r.u64(pcr + BigInt(p.pcrCurrentPrcb))).toBe(prcb);
      expect(r.u64(block + BigInt(cpu * 8))).toBe(prcb);
      expect(r.u64(prcb + BigInt(p.prcbCurrentThread))).toBe(thread);
      expect(r.u32(prcb + BigInt(p.prcbNumber))).toBe(cpu);
      expect(sim.currentThread(cpu)).toBe(thread);
      const process = r.u64(thread + BigInt(profile.kthread.apcStateProcess));
      expect(r.ansi(process + BigInt(profile.eprocess.imageFileName), 15)).toBe('Idle');
      // The CONTEXT lives in KPRCB.ProcessorState, as GetContext returns it.
      const ctxAt = prcb + BigInt(p.prcbProcessorState + p.specialRegistersSize);
      expect(r.bytes(ctxAt, 0x4d0)).toEqual(sim.getContext(cpu));
      expect(r.bytes(prcb + BigInt(p.prcbProcessorState), 0xe0)).toEqual(sim.readControlSpace(cpu, 2n, 0xe0));
    }
  });
});

describe('default profile (KD spec 4.1 / A.3 addresses)', () => {
  const sim = createSimTarget();
  it('puts the radare2 structures where the spec says', () => {
    expect(sim.version()).toMatchObject({
      minorVersion: 7601,
      maxManipulate: 0x31,
      kernBase: 0xfffff80000000000n,
      psLoadedModuleList: 0xfffff80000600000n,
      debuggerDataList: 0xfffff80000100000n,
    });
    const u64 = (a: bigint) => new DataView(sim.readVirtual(a, 8, 0).buffer).getBigUint64(0, true);
    expect(u64(0xfffff80000100000n)).toBe(0xfffff80000200000n);
    expect(u64(0xfffff80000200000n + 0x268n)).toBe(0xfffff80000300000n);
    expect(sim.readVirtual(0xfffff80000300000n, 4, 0)).toEqual(Uint8Array.of(0, 1, 0, 0));
    expect(sim.readVirtual(0xfffff80000200036n, 2, 0)).toEqual(Uint8Array.of(1, 0));
    expect(sim.readVirtual(0xfffff80000400000n, 4, 0)).toEqual(Uint8Array.of(0xcc, 0xc3, 0x90, 0x90));
    expect(sim.currentThread(0)).toBe(0xfffff80000500000n);
    expect(sim.stopReason()).toMatchObject({ kind: 'exception', cpu: 0, code: 0x80000003, address: 0xfffff80000400000n });
    expect(sim.rip(0)).toBe(0xfffff80000400000n);
  });

  it('leaves holes unreadable and reads physical memory', () => {
    expect(sim.readVirtual(0xfffff80000850000n, 8, 0).length).toBe(0);
    expect(sim.readVirtual(0xfffff80000848ffcn, 8, 0).length).toBe(4); // the end of hal's image
    expect(sim.readPhysical(BigInt(sim.memorySize) - 2n, 8).length).toBe(2);
    const pa = sim.layout.dataRegion.physicalBase + 0x1234n;
    expect(sim.readPhysical(pa, 64)).toEqual(sim.readVirtual(sim.layout.dataRegion.virtualBase + 0x1234n, 64, 0));
  });

  it('reads in place (readVirtualInto / readPhysicalInto) exactly what the copying reads return', () => {
    const virtualCases: [bigint, number][] = [
      [sim.layout.dataRegion.virtualBase + 0x1233n, 3944], // unaligned, spans pages
      [0xfffff80000100ffcn, 8], // readable prefix of 4
      [0xfffff80000850000n, 8], // hole
      [0xfffff80000400000n, 4], // code
    ];
    for (const [va, n] of virtualCases) {
      const into = new Uint8Array(n + 2).fill(0xee);
      const got = sim.readVirtualInto!(va, into.subarray(1, 1 + n), 0);
      const expected = sim.readVirtual(va, n, 0);
      expect(got).toBe(expected.length);
      expect(into.subarray(1, 1 + got)).toEqual(expected);
      expect([into[0], into[n + 1]]).toEqual([0xee, 0xee]); // nothing outside the view
    }
    const physicalCases: [bigint, number][] = [
      [sim.layout.dataRegion.physicalBase + 0x10n, 4000],
      [BigInt(sim.memorySize) - 2n, 8],
      [BigInt(sim.memorySize), 8],
      [-1n, 8],
    ];
    for (const [pa, n] of physicalCases) {
      const into = new Uint8Array(n);
      const got = sim.readPhysicalInto!(pa, into);
      const expected = sim.readPhysical(pa, n);
      expect(got).toBe(expected.length);
      expect(into.subarray(0, got)).toEqual(expected);
    }
  });
});

/**
 * radare2's winkd profiles (radareorg/radare2 shlr/winkd/profiles.h, KD spec 4.1 item 4) for the
 * Windows 10 builds it knows: the EPROCESS and ETHREAD offsets it walks with. Written out here from
 * that independent source so a slip in builds.ts cannot agree with itself.
 */
const radare2Offsets: Record<string, { build: number; activeProcessLinks: number; uniqueProcessId: number; peb: number; imageFileName: number; threadListHead: number; cid: number }> = {
  'win10-1607-x64': { build: 14393, activeProcessLinks: 0x2f0, uniqueProcessId: 0x2e8, peb: 0x3f8, imageFileName: 0x450, threadListHead: 0x488, cid: 0x630 },
  'win10-1803-x64': { build: 17134, activeProcessLinks: 0x2e8, uniqueProcessId: 0x2e0, peb: 0x3f8, imageFileName: 0x450, threadListHead: 0x488, cid: 0x638 },
  'win10-1903-x64': { build: 18362, activeProcessLinks: 0x2f0, uniqueProcessId: 0x2e8, peb: 0x3f8, imageFileName: 0x450, threadListHead: 0x488, cid: 0x648 },
};

describe.each(Object.entries(radare2Offsets))('%s matches the radare2 profile', (build, want) => {
  it('reports the build number and lays EPROCESS/ETHREAD out at the profile offsets', () => {
    const profile = buildProfile(build as Parameters<typeof buildProfile>[0]);
    expect(profile.buildNumber).toBe(want.build);
    expect(profile.servicePack).toBe(0);
    const { activeProcessLinks, uniqueProcessId, peb, imageFileName, threadListHead } = profile.eprocess;
    expect({ activeProcessLinks, uniqueProcessId, peb, imageFileName, threadListHead }).toEqual({
      activeProcessLinks: want.activeProcessLinks,
      uniqueProcessId: want.uniqueProcessId,
      peb: want.peb,
      imageFileName: want.imageFileName,
      threadListHead: want.threadListHead,
    });
    expect(profile.eprocess.directoryTableBase).toBe(0x28);
    expect(profile.kthread.cid).toBe(want.cid);
    const sim = createSimTarget({ build: profile.name, memorySize: 64 * 1024 * 1024 });
    expect(sim.version().minorVersion).toBe(want.build);
    const r = reader(sim);
    const kdbg = r.u64(sim.version().debuggerDataList);
    // What radare2 reads to pick the profile: build, then the service pack through CmNtCSDVersion.
    expect(r.u32(r.u64(kdbg + BigInt(KdDebuggerDataOffset.CmNtCSDVersion))) >> 8).toBe(0);
    const head = r.u64(kdbg + BigInt(KdDebuggerDataOffset.PsActiveProcessHead));
    const first = r.u64(head) - BigInt(want.activeProcessLinks);
    expect(r.u64(first + BigInt(want.uniqueProcessId))).toBe(4n);
    expect(r.ansi(first + BigInt(want.imageFileName), 15)).toBe('System');
    sim.close();
  });
});
