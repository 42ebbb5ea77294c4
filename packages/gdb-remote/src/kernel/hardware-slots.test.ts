import { decodeDr7, encodeDr7 } from '@vmkd/kd-protocol';
import { describe, expect, it } from 'vitest';
import { HARDWARE_REFUSAL_REPLY, debugRegistersOf, hardwareHit, isReadHit, placeHardware, removeHardware, type HardwareSlot } from './hardware-slots.js';

function place(slots: readonly HardwareSlot[], type: 1 | 2 | 3 | 4, address: bigint, length: number): readonly HardwareSlot[] {
  const r = placeHardware(slots, type, address, length);
  if (!('slots' in r)) throw new Error(`refused: ${r.refused}`);
  return r.slots;
}

describe('hardware breakpoint and watchpoint slots', () => {
  it('takes the lowest free debug register and arms Dr7 for what gdb asked', () => {
    let slots = place([], 1, 0xfffff80000001000n, 1);
    slots = place(slots, 2, 0xfffff80000002008n, 8);
    slots = place(slots, 3, 0xfffff78000000320n, 4);
    slots = place(slots, 4, 0xfffff80000003002n, 2);
    expect(slots.map((s) => s.slot)).toEqual([0, 1, 2, 3]);
    const dr7 = encodeDr7(debugRegistersOf(slots));
    expect(decodeDr7(dr7)).toEqual([
      { slot: 0, kind: 'execute', length: 1 },
      { slot: 1, kind: 'write', length: 8 },
      // x86 has no read-only data breakpoint: a read watchpoint takes a read-or-write slot.
      { slot: 2, kind: 'readwrite', length: 4 },
      { slot: 3, kind: 'readwrite', length: 2 },
    ]);
    // A freed slot is reused.
    slots = removeHardware(slots, 2, 0xfffff80000002008n, 8);
    expect(place(slots, 2, 0x1000n, 4).find((s) => s.address === 0x1000n)?.slot).toBe(1);
  });

  it('refuses a fifth, a bad length and a misaligned address, each with its own E reply', () => {
    let slots: readonly HardwareSlot[] = [];
    for (let i = 0; i < 4; i++) slots = place(slots, 2, BigInt(0x1000 + 8 * i), 8);
    expect(placeHardware(slots, 1, 0x2000n, 1)).toEqual({ refused: 'no-free-slot' });
    expect(placeHardware([], 2, 0x2000n, 3)).toEqual({ refused: 'bad-length' });
    expect(placeHardware([], 4, 0x2000n, 16)).toEqual({ refused: 'bad-length' });
    expect(placeHardware([], 1, 0x2000n, 2)).toEqual({ refused: 'bad-length' });
    expect(placeHardware([], 2, 0x2004n, 8)).toEqual({ refused: 'misaligned' });
    expect(placeHardware([], 3, 0x2001n, 2)).toEqual({ refused: 'misaligned' });
    expect(new Set(Object.values(HARDWARE_REFUSAL_REPLY)).size).toBe(3);
    for (const reply of Object.values(HARDWARE_REFUSAL_REPLY)) expect(reply).toMatch(/^E[0-9a-f]{2}$/);
    // Removing what is not there changes nothing.
    expect(removeHardware(slots, 3, 0x1000n, 8)).toBe(slots);
  });

  it('names the slot Dr6 reports, watchpoints before an execute hit', () => {
    let slots = place([], 1, 0x1000n, 1);
    slots = place(slots, 4, 0x2000n, 8);
    expect(hardwareHit(slots, 0xffff0ff1n)).toEqual({ kind: 'hwbreak', slot: slots[0] });
    expect(hardwareHit(slots, 0xffff0ff2n)).toEqual({ kind: 'awatch', slot: slots[1] });
    expect(hardwareHit(slots, 0xffff0ff3n)?.kind).toBe('awatch');
    // Dr6.BS alone (a single step) or a slot nothing is armed in: no hit.
    expect(hardwareHit(slots, 0xffff4ff0n)).toBeUndefined();
    expect(hardwareHit(slots, 0xffff0ff8n)).toBeUndefined();
  });

  it('tells a read from a write by the watched value', () => {
    expect(isReadHit(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(isReadHit(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(isReadHit(undefined, Uint8Array.of(1))).toBe(true);
  });
});
