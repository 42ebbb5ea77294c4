import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { skipUnlessCapable } from '@vmkd/kd-protocol/testing';
import { createDebuggerSession, type OpenedLink } from '@vmkd/kd-protocol';
import { fillExpected } from '@vmkd/sim-target';
import { fastPathOf } from '@vmkd/vmm-memory';
import { openGuest, parseGuestUri } from '../src/index.js';

const opened: OpenedLink[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vmkd-connect-ram-'));
  dirs.push(d);
  return d;
}

describe('the memory fast path through connect', () => {
  it('sim://?ram=PATH writes the kernel RAM file and serves reads from it after validation', async () => {
    const ram = join(dir(), 'sim.ram');
    const guest = await openGuest(`sim://?via=serial&baud=0&memory=32M&prints=0&ram=${ram}`);
    opened.push(guest);
    expect(existsSync(ram)).toBe(true);
    expect(guest.description).toMatch(/memory fast path from file:.*sim\.ram \(linear\)/);
    const fastPath = fastPathOf(guest);
    expect(fastPath).toBeDefined();
    const lines: string[] = [];
    guest.notices$.subscribe((line) => lines.push(line));
    const session = createDebuggerSession(guest.link, { timeoutMs: 20_000 });
    await session.attach({ timeoutMs: 20_000 });
    const base = guest.sim!.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 65536);
    expect(Buffer.from(read.data).equals(Buffer.from(fillExpected(base, new Uint8Array(65536))))).toBe(true);
    expect(fastPath!.fastPathStats()).toMatchObject({ validationsPassed: 1, bytesFromSource: 65536, bytesThroughKd: 0 });
    expect(lines.some((l) => l.startsWith('[memory] memory fast path validated'))).toBe(true);
    await session.close();
  });

  // A kernel in another process writes its RAM file there, as a hypervisor's shared guest RAM is;
  // the parent opens it as the memory source. Every variant must be able to back one.
  const variants: [uri: string, what: string][] = [
    ['sim://?via=serial&line=unix&baud=0&process=child', 'serial, kernel in a child process'],
    ['sim://?via=kdnet', 'KDNET'],
  ];
  if (process.platform === 'linux' && process.arch === 'x64') variants.push(['sim://?via=kdrpc&backdoor=native', 'KDRPC, native stubs in a child under the ptrace harness']);
  it.for(variants)('%s&ram=PATH (%s) serves reads from the kernel RAM file', { timeout: 120_000 }, async ([uri], { skip }) => {
    // The serial variant carries its line over a Unix socket (`line=unix`).
    const missing = uri.includes('line=unix') ? skipUnlessCapable('unix-sockets') : undefined;
    skip(missing !== undefined, missing);
    const ram = join(dir(), 'sim.ram');
    const guest = await openGuest(`${uri}&memory=32M&prints=0&ram=${ram}`);
    opened.push(guest);
    expect(existsSync(ram)).toBe(true);
    const fastPath = fastPathOf(guest);
    expect(fastPath).toBeDefined();
    const lines: string[] = [];
    guest.notices$.subscribe((line) => lines.push(line));
    const session = createDebuggerSession(guest.link, { timeoutMs: 60_000 });
    await session.attach({ timeoutMs: 60_000 });
    const base = guest.sim!.dataRegion.virtualBase;
    const read = await session.readVirtual(base, 65536);
    expect(Buffer.from(read.data).equals(Buffer.from(fillExpected(base, new Uint8Array(65536))))).toBe(true);
    expect(lines.filter((l) => l.startsWith('[memory]'))).toEqual([expect.stringMatching(/memory fast path validated/)]);
    expect(fastPath!.fastPathStats()).toMatchObject({ validationsPassed: 1, validationsFailed: 0, bytesFromSource: 65536, bytesThroughKd: 0 });
    await session.close();
  });

  it('?memory= on another guest scheme parses, and a bad source is the grammar error', () => {
    expect(() => parseGuestUri('serial+tcp://127.0.0.1:5555?memory=file:/dev/shm/vm.ram,layout=q35')).not.toThrow();
    expect(() => parseGuestUri('serial+tcp://127.0.0.1:5555?memory=vmem:/x')).toThrow(expect.objectContaining({ code: 'ERR_CLI_BAD_URI' }));
    expect(() => parseGuestUri('sim://?ram=')).toThrow(expect.objectContaining({ code: 'ERR_CLI_BAD_URI' }));
  });
});
