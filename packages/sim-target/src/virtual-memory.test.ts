import { describe, expect, it } from 'vitest';
import { fillExpected } from './data-formula.js';
import { createPageAllocator, PageTables, translate } from './page-tables.js';
import { PhysicalMemory } from './physical-memory.js';
import { VirtualMemory } from './virtual-memory.js';

const MIB = 1024 * 1024;

function setup() {
  const memory = new PhysicalMemory(64 * MIB, 1024);
  const allocator = createPageAllocator(memory, 0x100000, 0x200000);
  const tables = new PageTables(memory, allocator, allocator.allocate());
  return { memory, allocator, tables, vm: new VirtualMemory(memory, tables.root) };
}

describe('page tables and virtual memory', () => {
  it('translates 4 KiB mappings through real 4-level tables', () => {
    const { tables, vm, memory } = setup();
    tables.map(0xfffff80000400000n, 0x345000);
    expect(vm.translate(0xfffff80000400123n)).toBe(0x345123);
    expect(translate(memory, tables.root, 0xfffff80000401000n)).toBeUndefined();
  });

  it('reads the readable prefix and stops at a hole', () => {
    const { tables, vm } = setup();
    tables.map(0xfffff80000400000n, 0x345000);
    const r = vm.read(0xfffff80000400ff0n, 64);
    expect(r).toEqual(fillExpected(0x345ff0n, new Uint8Array(16)));
    expect(vm.read(0xfffff80000401000n, 8).length).toBe(0);
    expect(vm.write(0xfffff80000400ffcn, new Uint8Array(8))).toBe(4);
  });

  it('maps a linear window with 1 GiB pages and refuses non-canonical addresses', () => {
    const { tables, vm } = setup();
    tables.mapLinear1G(0xfffffa8000000000n, 0n, 1n << 30n);
    expect(vm.translate(0xfffffa8001234567n)).toBe(0x1234567);
    expect(vm.read(0xfffffa8000000000n + BigInt(64 * MIB) - 4n, 16).length).toBe(4); // RAM ends
    expect(vm.read(0x0000800000000000n, 8).length).toBe(0);
  });

  it('exposes the tables through a self-map slot', () => {
    const { tables, vm } = setup();
    tables.selfMap(0x1ed);
    tables.map(0xfffff80000400000n, 0x345000);
    // PTE of va = PTE base + ((va >> 12) & (2^36 − 1)) * 8, PTE base 0xFFFFF680'00000000.
    const pteAddress = 0xfffff68000000000n + ((0xfffff80000400000n >> 12n) & ((1n << 36n) - 1n)) * 8n;
    const pte = vm.readU64(pteAddress);
    expect(pte !== undefined && pte & ~0xfffn).toBe(0x345000n);
  });

  it('gives each clone the kernel half and its own self-map', () => {
    const { tables, vm, memory } = setup();
    tables.map(0xfffff80000400000n, 0x345000);
    const clone = tables.cloneKernelHalf(0x1ed);
    const other = new VirtualMemory(memory, clone);
    expect(other.translate(0xfffff80000400000n)).toBe(0x345000);
    expect(other.readU64(0xfffff6fb7dbedf68n)).not.toBe(vm.readU64(0xfffff6fb7dbedf68n));
  });
});
