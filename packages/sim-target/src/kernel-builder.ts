import { ContextFlag, KdLimits } from '@vmkd/kd-protocol';
import { Amd64ContextOffset, Amd64SpecialRegisterOffset, KLDR_DATA_TABLE_ENTRY_SIZE, KldrDataTableEntryOffset } from '@vmkd/kd-protocol/kernel';
import { Selector, view } from './amd64-context.js';
import type { BuildProfile } from './builds.js';
import { writeKdDebuggerData } from './kd-debugger-data.js';
import { KernelWriter } from './kernel-writer.js';
import { driverModules, GlobalOffset, processList, type ModuleSpec, type SimLayout } from './layout.js';
import { createPageAllocator, PageTables } from './page-tables.js';
import { updateKuserTime, writeKuserSharedData } from './kuser-shared-data.js';
import { DATA, RDATA, RELOC, TEXT, buildPeImage, defaultSections, stableGuid, type PeSection } from './pe-image.js';
import { PAGE_SIZE, PhysicalMemory } from './physical-memory.js';
import { VirtualMemory } from './virtual-memory.js';

/** A kernel image on PsLoadedModuleList. */
export interface LoadedModule {
  readonly baseName: string;
  readonly fullName: string;
  readonly base: bigint;
  readonly size: number;
  readonly checkSum: number;
  readonly timeDateStamp: number;
  /** Its KLDR_DATA_TABLE_ENTRY. */
  readonly entry: bigint;
  readonly sections: readonly PeSection[];
  /** Export names and their addresses. */
  readonly exports: ReadonlyMap<string, bigint>;
  /** The CodeView record: PDB name, GUID as WinDbg prints it (upper-case hex, no dashes) and age. */
  readonly pdb: { readonly name: string; readonly guid: string; readonly age: number };
}

/** A process on PsActiveProcessHead. */
export interface SimProcess {
  readonly pid: number;
  readonly parentPid: number;
  readonly imageFileName: string;
  readonly eprocess: bigint;
  readonly directoryTableBase: bigint;
  /** Its PEB, mapped in its own user half only (0 for System). */
  readonly peb: bigint;
}

/** One CPU's kernel structures; `context` and `special` are live views of its KPRCB.ProcessorState. */
export interface CpuBlock {
  readonly index: number;
  readonly pcr: bigint;
  readonly prcb: bigint;
  readonly thread: bigint;
  readonly stackBase: bigint;
  readonly stackLimit: bigint;
  readonly context: Uint8Array;
  readonly special: Uint8Array;
}

export interface SimKernel {
  readonly profile: BuildProfile;
  readonly layout: SimLayout;
  readonly memory: PhysicalMemory;
  /** Kernel address space (the System process's CR3). */
  readonly kernelSpace: VirtualMemory;
  readonly modules: readonly LoadedModule[];
  readonly processes: readonly SimProcess[];
  /** The Idle process (PID 0), owner of the idle threads. */
  readonly idleProcess: bigint;
  readonly cpus: readonly CpuBlock[];
  /** Physical bytes of the kernel's reserve in use after boot (the end of what the builder allocated). */
  readonly reserveUsed: number;
}

export interface KernelOptions {
  readonly profile: BuildProfile;
  readonly layout: SimLayout;
  readonly memorySize: number;
  readonly cpus: number;
  readonly transportModule: string;
  readonly maxMaterialisedPages: number;
  /** Wall time at boot (ms since 1970) for KUSER_SHARED_DATA.SystemTime. */
  readonly bootUnixMs: number;
}

const KERNEL_STACK_SIZE = 0x6000;
const ONE_GIB = 1n << 30n;
/** POOL_HEADER (0x10) + OBJECT_HEADER (0x30): where a pool object's body starts in its allocation. */
const POOL_BODY_OFFSET = 0x40n;

function hash32(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function buildKernel(options: KernelOptions): SimKernel {
  const { profile, layout } = options;
  const memory = new PhysicalMemory(options.memorySize, options.maxMaterialisedPages);
  const allocator = createPageAllocator(memory, 0x100000, layout.kernelReserveEnd);
  const tables = new PageTables(memory, allocator, allocator.allocate());
  const kernelSpace = new VirtualMemory(memory, tables.root);
  const w = new KernelWriter(kernelSpace);
  const k = layout.kernBase;

  tables.selfMap(profile.selfMapIndex);
  tables.mapLinear1G(layout.physmapBase, 0n, ((BigInt(options.memorySize) + ONE_GIB - 1n) / ONE_GIB) * ONE_GIB);

  const mapPages = (va: bigint, bytes: number): void => {
    for (let off = 0; off < bytes; off += PAGE_SIZE) tables.map(va + BigInt(off), allocator.allocate());
  };
  /** Fresh contiguous physical pages, addressed through the physmap (nonpaged pool). */
  const poolPages = (bytes: number): bigint => {
    const first = allocator.allocate();
    for (let off = PAGE_SIZE; off < bytes; off += PAGE_SIZE) allocator.allocate();
    return layout.physmapBase + BigInt(first);
  };
  /** A pool object body behind its pool and object headers; `tag` goes in POOL_HEADER.PoolTag. */
  const poolObject = (bytes: number, tag: string): bigint => {
    const page = poolPages(bytes + Number(POOL_BODY_OFFSET));
    w.ansi(page + 4n, tag);
    return page + POOL_BODY_OFFSET;
  };

  // nt's whole image is mapped: its sections (ntImageSections) hold the variables, lists and code below.
  mapPages(k, layout.ntImageSize);
  const g = (name: keyof typeof GlobalOffset): bigint => layout.globals + BigInt(GlobalOffset[name]);
  // nt's .text is int3 padding (what fills a real image's gaps) around the routines the model runs.
  w.bytes(k + 0x400000n, new Uint8Array(0x100000).fill(0xcc));

  // Code page: DbgBreakPointWithStatus (`int3; ret`), then the idle loop of NOPs closed by a jmp.
  // Just before the jmp the loop touches memory, so data watchpoints have something to catch:
  // `inc qword [rip+disp32]` on nt's idle counter, `mov rax, [moffs64]` of KUSER_SHARED_DATA.TickCount.
  const code = new Uint8Array(PAGE_SIZE).fill(0x90);
  const c = new DataView(code.buffer);
  code[0] = 0xcc;
  code[1] = 0xc3;
  const jmpAt = Number(layout.idleLoopJump - layout.breakpointWithStatus);
  const incAt = jmpAt - 17;
  code.set([0x48, 0xff, 0x05], incAt);
  c.setInt32(incAt + 3, Number(g('IdleLoopCount') - (layout.breakpointWithStatus + BigInt(incAt + 7))), true);
  code.set([0x48, 0xa1], incAt + 7);
  c.setBigUint64(incAt + 9, layout.kuserSharedData + 0x320n, true);
  const back = Number(layout.idleLoopStart - (layout.idleLoopJump + 5n));
  code[jmpAt] = 0xe9;
  c.setInt32(jmpAt + 1, back, true);
  w.bytes(layout.breakpointWithStatus, code);
  // KeBugCheckEx: the bugcheck breakpoint at +0x10, then `jmp $` (a bugchecked machine stays put).
  const bugcheck = new Uint8Array(0x20).fill(0x90);
  bugcheck.set([0xcc, 0xeb, 0xfe], 0x10);
  w.bytes(layout.keBugCheckEx, bugcheck);
  w.u8(layout.dbgPrint, 0xc3);

  // KUSER_SHARED_DATA, at its fixed address.
  mapPages(layout.kuserSharedData, PAGE_SIZE);
  writeKuserSharedData(w, layout.kuserSharedData, profile, options.cpus);
  updateKuserTime(w, layout.kuserSharedData, options.bootUnixMs, 0);

  // Kernel variables.
  const pages = BigInt(options.memorySize / PAGE_SIZE);
  w.u32(g('CmNtCSDVersion'), profile.servicePack << 8);
  w.u64(g('MmNumberOfPhysicalPages'), pages);
  w.u64(g('MmHighestPhysicalPage'), pages - 1n);
  w.u64(g('MmLowestPhysicalPage'), 0n);
  w.u64(g('MmSystemRangeStart'), profile.mmSystemRangeStart);
  w.u64(g('MmHighestUserAddress'), 0x7fffffeffffn);
  w.u64(g('MmUserProbeAddress'), 0x7ffffff0000n);
  w.u64(g('MmPhysicalMemoryBlock'), g('PhysicalMemoryDescriptor'));
  w.u64(g('KdPrintWritePointer'), layout.printBuffer);
  w.u32(g('KdPrintRolloverCount'), 0);
  w.u64(g('KdPrintCircularBufferPtr'), layout.printBuffer);
  w.u32(g('KdPrintBufferSize'), layout.printBufferSize);
  w.u32(g('KeNumberProcessors'), options.cpus);
  w.u64(g('MmPageSize'), BigInt(PAGE_SIZE));
  w.ansi(g('NtBuildLab'), profile.buildLab);
  w.u32(g('NtBuildNumber'), (0xf0000000 | profile.buildNumber) >>> 0);
  w.u8(g('KdDebuggerEnabled'), 1);
  // One run covering all of RAM.
  const pmd = g('PhysicalMemoryDescriptor');
  w.u32(pmd, 1);
  w.u64(pmd + 8n, pages);
  w.u64(pmd + 16n, 0n);
  w.u64(pmd + 24n, pages);

  const pteBase = BigInt.asUintN(64, BigInt.asIntN(64, (BigInt(profile.selfMapIndex) << 39n) | 0xffff000000000000n));
  writeKdDebuggerData(w, profile, {
    address: layout.kdDebuggerDataBlock,
    listHead: layout.debuggerDataList,
    kernBase: k,
    breakpointWithStatus: layout.breakpointWithStatus,
    psLoadedModuleList: layout.psLoadedModuleList,
    psActiveProcessHead: layout.psActiveProcessHead,
    kiProcessorBlock: layout.kiProcessorBlock,
    printBuffer: layout.printBuffer,
    printBufferSize: layout.printBufferSize,
    pteBase,
    variables: {
      CmNtCSDVersion: g('CmNtCSDVersion'),
      MmNumberOfPhysicalPages: g('MmNumberOfPhysicalPages'),
      MmHighestPhysicalPage: g('MmHighestPhysicalPage'),
      MmLowestPhysicalPage: g('MmLowestPhysicalPage'),
      MmSystemRangeStart: g('MmSystemRangeStart'),
      MmHighestUserAddress: g('MmHighestUserAddress'),
      MmUserProbeAddress: g('MmUserProbeAddress'),
      MmPhysicalMemoryBlock: g('MmPhysicalMemoryBlock'),
      MmPageSize: g('MmPageSize'),
      KdPrintWritePointer: g('KdPrintWritePointer'),
      KdPrintRolloverCount: g('KdPrintRolloverCount'),
      KdPrintCircularBufferPtr: g('KdPrintCircularBufferPtr'),
      KdPrintBufferSize: g('KdPrintBufferSize'),
      NtBuildLab: g('NtBuildLab'),
      PspCidTable: g('PspCidTable'),
      KiBugcheckData: g('KiBugCheckData'),
    },
  });

  // Loaded modules: nt, hal, the KD transport, then drivers. Each is a whole mapped PE32+ image.
  const ntSpec: ModuleSpec = {
    baseName: 'ntoskrnl.exe',
    fullName: '\\SystemRoot\\system32\\ntoskrnl.exe',
    size: layout.ntImageSize,
    isDll: false,
    exports: [],
    pdbName: 'ntkrnlmp.pdb',
  };
  const halSpec: ModuleSpec = {
    baseName: 'hal.dll',
    fullName: '\\SystemRoot\\system32\\hal.dll',
    size: 0x49000,
    isDll: true,
    exports: ['HalDispatchTable', 'HalQueryRealTimeClock', 'HalReturnToFirmware', 'KeQueryPerformanceCounter', 'KeStallExecutionProcessor'],
    pdbName: 'hal.pdb',
  };
  const kdStem = options.transportModule.replace(/\.[^.]*$/, '');
  const kdSpec: ModuleSpec = {
    baseName: options.transportModule,
    fullName: `\\SystemRoot\\system32\\${options.transportModule}`,
    size: 0xa000,
    isDll: true,
    exports: ['KdD0Transition', 'KdD3Transition', 'KdDebuggerInitialize0', 'KdDebuggerInitialize1', 'KdReceivePacket', 'KdRestore', 'KdSave', 'KdSendPacket'],
    pdbName: `${kdStem}.pdb`,
  };
  const ntExports = new Map<string, bigint>([
    ['DbgBreakPointWithStatus', layout.breakpointWithStatus],
    ['DbgPrint', layout.dbgPrint],
    ['KdDebuggerDataBlock', layout.kdDebuggerDataBlock],
    ['KdDebuggerEnabled', g('KdDebuggerEnabled')],
    ['KeBugCheckEx', layout.keBugCheckEx],
    ['KeNumberProcessors', g('KeNumberProcessors')],
    ['KiBugCheckData', g('KiBugCheckData')],
    ['MmHighestUserAddress', g('MmHighestUserAddress')],
    ['MmSystemRangeStart', g('MmSystemRangeStart')],
    ['MmUserProbeAddress', g('MmUserProbeAddress')],
    ['NtBuildLab', g('NtBuildLab')],
    ['NtBuildNumber', g('NtBuildNumber')],
    ['PsActiveProcessHead', layout.psActiveProcessHead],
    ['PsInitialSystemProcess', g('PsInitialSystemProcess')],
    ['PsLoadedModuleList', layout.psLoadedModuleList],
  ]);
  const stampBase = profile.osMajor >= 10 ? 0x5e9c0c3f : 0x4ce7951a;
  const modules: LoadedModule[] = [];
  let next = k + BigInt(layout.ntImageSize);
  let nextDriver = layout.driverBase;
  [ntSpec, halSpec, kdSpec, ...driverModules].forEach((spec, i) => {
    let base: bigint;
    if (i === 0) base = k;
    else if (i <= 2) {
      base = next;
      next += BigInt(spec.size + 0x10000);
    } else {
      base = nextDriver;
      nextDriver += BigInt(((spec.size + 0xffff) & ~0xffff) + 0x10000);
    }
    const checkSum = (hash32(spec.baseName, spec.size) & 0x7fffff) | 0x10000;
    const timeDateStamp = (stampBase + (hash32(spec.baseName, 7) & 0xfffff)) >>> 0;
    const sections = i === 0 ? ntImageSections(layout.ntImageSize) : defaultSections(spec.size);
    const text = sections.find((x) => x.name === '.text') ?? sections[0];
    const rdata = sections.find((x) => x.name === '.rdata') ?? sections[0];
    if (i !== 0) {
      mapPages(base, spec.size);
      w.bytes(base + BigInt(text.rva), new Uint8Array(text.size).fill(0xcc));
    }
    // Driver entry points return STATUS_SUCCESS (`xor eax, eax; ret`); exports are `ret` stubs 16 bytes apart.
    const entryPointRva = i === 0 ? Number(layout.idleLoopStart - k) : text.rva + 0x10;
    if (i !== 0) w.bytes(base + BigInt(entryPointRva), Uint8Array.of(0x33, 0xc0, 0xc3));
    const exports = i === 0 ? ntExports : new Map(spec.exports.map((name, n) => [name, base + BigInt(text.rva + 0x100 + n * 0x10)] as const));
    if (i !== 0) for (const address of exports.values()) w.u8(address, 0xc3);
    const guid = stableGuid(`${profile.buildLab}|${spec.pdbName}`);
    const image = buildPeImage({
      base,
      sizeOfImage: spec.size,
      timeDateStamp,
      checkSum,
      isDll: spec.isDll,
      osMajor: profile.osMajor,
      osMinor: profile.osMinor,
      imageName: spec.baseName,
      sections,
      metadataRva: rdata.rva,
      entryPointRva,
      exports: [...exports].map(([name, address]) => ({ name, rva: Number(address - base) })),
      codeView: { guid, age: 1, pdbName: spec.pdbName },
    });
    w.bytes(base, image.headers);
    w.bytes(base + BigInt(rdata.rva), image.metadata);
    if (image.reloc !== undefined) w.bytes(base + BigInt(image.reloc.rva), image.reloc.bytes);
    // KLDR_DATA_TABLE_ENTRY (0xa0 bytes) followed by its two UTF-16 names, in one pool block.
    const entry = poolObject(0x400, 'MmLd');
    const L = KldrDataTableEntryOffset;
    const at = (field: keyof typeof L): bigint => entry + BigInt(L[field]);
    const fullBuffer = entry + BigInt(KLDR_DATA_TABLE_ENTRY_SIZE);
    const fullLength = w.utf16(fullBuffer, spec.fullName);
    const baseBuffer = fullBuffer + BigInt(fullLength + 2 + 6);
    const baseLength = w.utf16(baseBuffer, spec.baseName);
    w.u64(at('DllBase'), base);
    w.u64(at('EntryPoint'), base + BigInt(entryPointRva)); // AddressOfEntryPoint in the header
    w.u32(at('SizeOfImage'), spec.size); // as in the optional header
    w.unicodeString(at('FullDllName'), fullLength, fullBuffer);
    w.unicodeString(at('BaseDllName'), baseLength, baseBuffer);
    w.u32(at('Flags'), 0x09104000); // image dll, entry processed, load config processed
    w.u16(at('LoadCount'), 1);
    w.u32(at('CheckSum'), checkSum);
    w.u32(at('SizeOfImageNotRounded'), spec.size);
    w.u32(at('TimeDateStamp'), timeDateStamp); // as in the file header
    modules.push({
      baseName: spec.baseName,
      fullName: spec.fullName,
      base,
      size: spec.size,
      checkSum,
      timeDateStamp,
      entry,
      sections,
      exports,
      pdb: { name: spec.pdbName, guid: guidText(guid), age: 1 },
    });
  });
  linkList(w, layout.psLoadedModuleList, modules.map((m) => m.entry));

  // Idle process (nt!KiInitialProcess): PID 0, not on the active list.
  const ep = profile.eprocess;
  const idleProcess = layout.idleProcess;
  writeProcessObject(w, profile, idleProcess, { pid: 0, parentPid: 0, imageFileName: 'Idle' }, BigInt(tables.root), 0n);
  w.listEntry(idleProcess + BigInt(ep.activeProcessLinks), idleProcess + BigInt(ep.activeProcessLinks), idleProcess + BigInt(ep.activeProcessLinks));

  // CPUs: KPCR (+ embedded KPRCB with ProcessorState), idle thread, kernel stack, GDT, IDT, TSS.
  const pr = profile.processor;
  const cpus: CpuBlock[] = [];
  for (let i = 0; i < options.cpus; i++) {
    const pcr = i === 0 ? layout.initialPcr : poolPages(pr.pcrSize);
    const prcb = pcr + BigInt(pr.pcrPrcb);
    const thread = i === 0 ? layout.initialThread : poolObject(profile.kthread.ethreadSize, 'Thre');
    const stackLimit = poolPages(KERNEL_STACK_SIZE);
    const stackBase = stackLimit + BigInt(KERNEL_STACK_SIZE);
    const gdt = poolPages(PAGE_SIZE);
    const tss = gdt + 0x800n;
    const idt = poolPages(PAGE_SIZE);
    writeDescriptorTables(w, gdt, tss, idt, stackBase, layout.breakpointWithStatus + 0x900n);

    w.u64(pcr + 0x00n, gdt); // GdtBase
    w.u64(pcr + 0x08n, tss); // TssBase
    w.u64(pcr + BigInt(pr.pcrSelf), pcr);
    w.u64(pcr + BigInt(pr.pcrCurrentPrcb), prcb);
    w.u64(pcr + BigInt(pr.pcrIdtBase), idt);
    w.u16(pcr + 0x40n, 1); // MajorVersion
    w.u16(pcr + 0x42n, 1); // MinorVersion
    w.u32(prcb + 0x00n, 0x1f80); // MxCsr
    w.u8(prcb + 0x04n, i); // LegacyNumber
    w.u64(prcb + BigInt(pr.prcbCurrentThread), thread);
    w.u64(prcb + BigInt(pr.prcbIdleThread), thread);
    w.u32(prcb + BigInt(pr.prcbNumber), i);
    w.u64(layout.kiProcessorBlock + BigInt(i * 8), prcb);

    const kt = profile.kthread;
    w.u8(thread, 6); // DISPATCHER_HEADER.Type = ThreadObject
    w.u64(thread + BigInt(kt.initialStack), stackBase);
    w.u64(thread + BigInt(kt.kernelStack), stackBase - 0x100n);
    w.u64(thread + BigInt(kt.apcStateProcess), idleProcess);
    w.u8(thread + BigInt(kt.state), 2); // Running
    w.u32(thread + BigInt(kt.nextProcessor), i);
    w.u64(thread + BigInt(kt.cid), 0n); // Cid.UniqueProcess = Idle
    w.u64(thread + BigInt(kt.cid) + 8n, 0n);

    const special = liveView(memory, kernelSpace, prcb + BigInt(pr.prcbProcessorState), 0xe0);
    const context = liveView(memory, kernelSpace, prcb + BigInt(pr.prcbProcessorState + pr.specialRegistersSize), KdLimits.Amd64ContextSize);
    initSpecialRegisters(special, profile, tables.root, pcr, gdt, idt, layout);
    initContext(context);
    const c = view(context);
    c.setBigUint64(Amd64ContextOffset.Rsp, stackBase - 0x48n, true);
    // Every CPU starts in the idle loop, spread out so they are at different places.
    const loopLength = Number(layout.idleLoopJump - layout.idleLoopStart);
    c.setBigUint64(Amd64ContextOffset.Rip, layout.idleLoopStart + BigInt(Math.floor((loopLength * i) / options.cpus)), true);
    cpus.push({ index: i, pcr, prcb, thread, stackBase, stackLimit, context, special });
  }

  // Processes on PsActiveProcessHead. Each one's DirectoryTableBase is a PML4 sharing the kernel
  // half; a user process also has a user half of its own: its PEB, and SharedUserData's read-only
  // user view at 0x7ffe0000 (the same physical page as KUSER_SHARED_DATA, in every process).
  const processes: SimProcess[] = [];
  const kuserPhysical = kernelSpace.translate(layout.kuserSharedData);
  processList.forEach((spec, i) => {
    const eprocess = poolObject(ep.size, 'Proc');
    const dtb = spec.pid === 4 ? BigInt(tables.root) : BigInt(tables.cloneKernelHalf(profile.selfMapIndex));
    const peb = spec.pid === 4 ? 0n : 0x7fffffd0000n + BigInt((spec.pid & 0xff) << 12);
    writeProcessObject(w, profile, eprocess, spec, dtb, peb);
    if (spec.pid !== 4) {
      const space = new PageTables(memory, allocator, Number(dtb));
      const pebPage = allocator.allocate();
      space.mapUser(peb, pebPage, true);
      writePeb(memory, pebPage, userImageBase(i));
      if (kuserPhysical !== undefined) space.mapUser(USER_SHARED_DATA, kuserPhysical, false);
    }
    processes.push({ ...spec, eprocess, directoryTableBase: dtb, peb });
  });
  linkList(
    w,
    layout.psActiveProcessHead,
    processes.map((p) => p.eprocess + BigInt(ep.activeProcessLinks)),
  );
  w.u64(g('PsInitialSystemProcess'), (processes[0]).eprocess);

  return { profile, layout, memory, kernelSpace, modules, processes, idleProcess, cpus, reserveUsed: allocator.next };
}

/**
 * nt's sections, laid over the fixed layout (layout.ts): .rdata (exports, debug directory) after the
 * headers, .data with the debugger data list, KDDEBUGGER_DATA64 and the variables, .text with the
 * code, CACHEALI with the initial thread, process, lists, PCR and print buffer, .reloc last.
 */
export function ntImageSections(size: number): PeSection[] {
  return [
    { name: '.rdata', rva: 0x1000, size: 0xff000, characteristics: RDATA },
    { name: '.data', rva: 0x100000, size: 0x300000, characteristics: DATA },
    { name: '.text', rva: 0x400000, size: 0x100000, characteristics: TEXT },
    { name: 'CACHEALI', rva: 0x500000, size: size - 0x501000, characteristics: DATA },
    { name: '.reloc', rva: size - 0x1000, size: 0x1000, characteristics: RELOC },
  ];
}

/** A GUID's bytes as WinDbg and symbol servers print it: Data1-3 as little-endian numbers, then Data4, upper-case hex. */
function guidText(guid: Uint8Array): string {
  const v = new DataView(guid.buffer, guid.byteOffset, 16);
  const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');
  return hex(v.getUint32(0, true), 8) + hex(v.getUint16(4, true), 4) + hex(v.getUint16(6, true), 4) + [...guid.subarray(8, 16)].map((b) => hex(b, 2)).join('');
}

/** A circular doubly linked list: head ⇄ entries in order. */
function linkList(w: KernelWriter, head: bigint, entries: readonly bigint[]): void {
  const all = [head, ...entries];
  all.forEach((entry, i) => {
    w.listEntry(entry, all[(i + 1) % all.length], all[(i + all.length - 1) % all.length]);
  });
}

/** SharedUserData's user-mode address (MM_SHARED_USER_DATA_VA), the same in every process. */
const USER_SHARED_DATA = 0x7ffe0000n;

/** Where process `i`'s image is based (PEB.ImageBaseAddress): 64 KiB-aligned, one per process as ASLR gives them. */
function userImageBase(i: number): bigint {
  return 0x7ff6_1000_0000n + BigInt(i) * 0x10_0000n;
}

/** The PEB fields a debugger reads first (PEB64: BeingDebugged at 0x2, ImageBaseAddress at 0x10). */
function writePeb(memory: PhysicalMemory, pa: number, imageBase: bigint): void {
  const page = memory.page(pa / PAGE_SIZE);
  if (page === undefined) throw new Error(`kernel builder: PEB page 0x${pa.toString(16)} is outside RAM`);
  const v = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
  v.setUint8(0x2, 0);
  v.setBigUint64(0x10, imageBase, true);
}

function writeProcessObject(
  w: KernelWriter,
  profile: BuildProfile,
  eprocess: bigint,
  spec: { pid: number; parentPid: number; imageFileName: string },
  dtb: bigint,
  peb: bigint,
): void {
  const ep = profile.eprocess;
  w.u8(eprocess, 3); // DISPATCHER_HEADER.Type = ProcessObject
  w.u8(eprocess + 2n, Math.min(255, ep.size >> 3));
  w.u64(eprocess + BigInt(ep.directoryTableBase), dtb);
  w.u64(eprocess + BigInt(ep.uniqueProcessId), BigInt(spec.pid));
  w.u64(eprocess + BigInt(ep.inheritedFromUniqueProcessId), BigInt(spec.parentPid));
  w.u64(eprocess + BigInt(ep.peb), peb);
  // ImageFileName is UCHAR[15]: at most 14 characters and a NUL.
  w.ansi(eprocess + BigInt(ep.imageFileName), spec.imageFileName.slice(0, 14));
  const threads = eprocess + BigInt(ep.threadListHead);
  w.listEntry(threads, threads, threads);
}

/** A view of kernel memory that aliases the backing physical page (the range must not cross a page). */
function liveView(memory: PhysicalMemory, space: VirtualMemory, va: bigint, length: number): Uint8Array {
  const pa = space.translate(va);
  if (pa === undefined) throw new Error(`kernel builder: 0x${va.toString(16)} is not mapped`);
  const offset = pa % PAGE_SIZE;
  if (offset + length > PAGE_SIZE) throw new Error(`kernel builder: 0x${va.toString(16)} + ${length} crosses a page`);
  const page = memory.page(Math.floor(pa / PAGE_SIZE));
  if (page === undefined) throw new Error(`kernel builder: page of 0x${va.toString(16)} is outside RAM`);
  return page.subarray(offset, offset + length);
}

function initContext(context: Uint8Array): void {
  const c = view(context);
  c.setUint32(Amd64ContextOffset.ContextFlags, ContextFlag.Amd64All, true);
  c.setUint32(Amd64ContextOffset.MxCsr, 0x1f80, true);
  c.setUint16(Amd64ContextOffset.SegCs, Selector.KernelCode, true);
  c.setUint16(Amd64ContextOffset.SegDs, Selector.UserData, true);
  c.setUint16(Amd64ContextOffset.SegEs, Selector.UserData, true);
  c.setUint16(Amd64ContextOffset.SegFs, Selector.CompatTeb, true);
  c.setUint16(Amd64ContextOffset.SegGs, Selector.UserData, true);
  c.setUint16(Amd64ContextOffset.SegSs, Selector.KernelData, true);
  c.setUint32(Amd64ContextOffset.EFlags, 0x202, true);
  c.setBigUint64(Amd64ContextOffset.Dr7, 0x400n, true);
  c.setUint16(Amd64ContextOffset.FltSave + 0x00, 0x27f, true); // x87 ControlWord
  c.setUint32(Amd64ContextOffset.FltSave + 0x18, 0x1f80, true); // MxCsr
  c.setUint32(Amd64ContextOffset.FltSave + 0x1c, 0xffff, true); // MxCsr_Mask
}

function initSpecialRegisters(
  special: Uint8Array,
  profile: BuildProfile,
  cr3: number,
  pcr: bigint,
  gdt: bigint,
  idt: bigint,
  layout: SimLayout,
): void {
  const s = view(special);
  const S = Amd64SpecialRegisterOffset;
  s.setBigUint64(S.Cr0, 0x80050033n, true);
  s.setBigUint64(S.Cr3, BigInt(cr3), true);
  s.setBigUint64(S.Cr4, profile.cr4, true);
  s.setBigUint64(S.KernelDr6, 0xffff0ff0n, true);
  s.setBigUint64(S.KernelDr7, 0x400n, true);
  s.setUint16(S.Gdtr + 6, 0x7f, true);
  s.setBigUint64(S.Gdtr + 8, gdt, true);
  s.setUint16(S.Idtr + 6, 0xfff, true);
  s.setBigUint64(S.Idtr + 8, idt, true);
  s.setUint16(S.Tr, Selector.Tss, true);
  s.setUint32(S.MxCsr, 0x1f80, true);
  s.setBigUint64(S.MsrGsBase, pcr, true);
  s.setBigUint64(S.MsrStar, 0x0023001000000000n, true);
  s.setBigUint64(S.MsrLStar, layout.systemCall64, true);
  s.setBigUint64(S.MsrCStar, layout.systemCall32, true);
  s.setBigUint64(S.MsrSyscallMask, 0x4700n, true);
  s.setBigUint64(S.Xcr0, 0x7n, true);
}

/** A long-mode GDT (KGDT64 selectors), a TSS with RSP0, and an IDT whose gates all point at one handler. */
function writeDescriptorTables(w: KernelWriter, gdt: bigint, tss: bigint, idt: bigint, stackBase: bigint, handler: bigint): void {
  w.u64(gdt + 0x10n, 0x00209b0000000000n); // R0 code64
  w.u64(gdt + 0x18n, 0x00cf93000000ffffn); // R0 data
  w.u64(gdt + 0x20n, 0x00cffb000000ffffn); // R3 compat code
  w.u64(gdt + 0x28n, 0x00cff3000000ffffn); // R3 data
  w.u64(gdt + 0x30n, 0x0020fb0000000000n); // R3 code64
  // 0x40: 16-byte available 64-bit TSS descriptor (limit 0x67).
  const t = tss;
  const low =
    0x67n |
    ((t & 0xffffn) << 16n) |
    (((t >> 16n) & 0xffn) << 32n) |
    (0x89n << 40n) |
    (((t >> 24n) & 0xffn) << 56n);
  w.u64(gdt + 0x40n, low);
  w.u64(gdt + 0x48n, (t >> 32n) & 0xffffffffn);
  w.u64(gdt + 0x50n, 0x0040f3000000fc00n); // R3 compat TEB
  w.u64(tss + 4n, stackBase); // Rsp0
  const gate = new Uint8Array(16);
  const v = new DataView(gate.buffer);
  v.setUint16(0, Number(handler & 0xffffn), true);
  v.setUint16(2, Selector.KernelCode, true);
  v.setUint8(5, 0x8e); // present interrupt gate, DPL 0
  v.setUint16(6, Number((handler >> 16n) & 0xffffn), true);
  v.setUint32(8, Number((handler >> 32n) & 0xffffffffn), true);
  const table = new Uint8Array(256 * 16);
  for (let i = 0; i < 256; i++) table.set(gate, i * 16);
  w.bytes(idt, table);
}
