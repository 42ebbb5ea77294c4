import { mkdtempSync, openSync, readSync, closeSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSimTarget, type SimTarget } from '../src/index.js';

function readFileAt(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  const out = new Uint8Array(length);
  readSync(fd, out, 0, length, offset);
  closeSync(fd);
  return out;
}

describe('the RAM file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmkd-ram-'));
  let sim: SimTarget | undefined;
  afterEach(() => {
    sim?.close();
    sim = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds every physical byte at its address, and debugger writes at once', () => {
    const path = join(dir, 'a.ram');
    sim = createSimTarget({ memorySize: 32 * 1024 * 1024, ramFile: path, printIntervalMs: 0 });
    for (const pa of [0, 0x1000, 0x123456, 32 * 1024 * 1024 - 64]) {
      expect(readFileAt(path, pa, 64)).toEqual(sim.readPhysical(BigInt(pa), 64));
    }
    const pa = 0x1800000;
    sim.writePhysical(BigInt(pa), Uint8Array.of(1, 2, 3, 4));
    expect(readFileAt(path, pa, 4)).toEqual(Uint8Array.of(1, 2, 3, 4));
  });

  it('leaves pages the kernel did not change alone (a corrupted file stays corrupted)', () => {
    const path = join(dir, 'b.ram');
    sim = createSimTarget({ memorySize: 32 * 1024 * 1024, ramFile: path, printIntervalMs: 0 });
    const fd = openSync(path, 'r+');
    writeSync(fd, Uint8Array.of(0xee), 0, 1, 0x1900000);
    closeSync(fd);
    sim.writePhysical(0x1a00000n, Uint8Array.of(7));
    expect(readFileAt(path, 0x1900000, 1)).toEqual(Uint8Array.of(0xee));
    expect(readFileAt(path, 0x1a00000, 1)).toEqual(Uint8Array.of(7));
  });

  it('refuses a path it cannot create with ERR_SIM_RAM_FILE', () => {
    expect(() => createSimTarget({ ramFile: join(dir, 'missing', 'c.ram') })).toThrow(expect.objectContaining({ code: 'ERR_SIM_RAM_FILE' }));
  });
});
