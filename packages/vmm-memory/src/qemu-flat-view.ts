/**
 * Parsing of QEMU's `info mtree -f` (the flattened view of each address space): the RAM ranges of
 * the guest's system memory. Pure; the lines look like
 * `  0000000100000000-000000013fffffff (prio 0, ram): ram @0000000080000000`
 * (start-end inclusive, the region type, the region name, and the offset into the region).
 */
export interface FlatRamRange {
  readonly start: bigint;
  /** Exclusive. */
  readonly end: bigint;
  readonly region: string;
  /** Offset of `start` inside the named RAM region (0 without an `@`). */
  readonly regionOffset: bigint;
}

const RANGE = /^\s*([0-9a-f]{1,16})-([0-9a-f]{1,16}) \(prio -?\d+, ([a-z-]+)\): (\S+)(?: @([0-9a-f]{1,16}))?/;

/** The `ram` ranges of the flat view that serves AS "memory" (the CPU's system address space). */
export function parseFlatViewRam(text: string): FlatRamRange[] {
  const lines = text.split('\n');
  let inMemory = false;
  let sawMemory = false;
  const out: FlatRamRange[] = [];
  for (const line of lines) {
    if (line.startsWith('FlatView #')) {
      if (sawMemory) break;
      inMemory = false;
      continue;
    }
    if (/^\s*AS "memory"/.test(line)) {
      inMemory = true;
      sawMemory = true;
      continue;
    }
    if (!inMemory) continue;
    const m = RANGE.exec(line);
    if (m === null || m[3] !== 'ram') continue;
    out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`) + 1n, region: m[4], regionOffset: m[5] === undefined ? 0n : BigInt(`0x${m[5]}`) });
  }
  return out;
}

/** `Host virtual address for 0x0 (ram) is 0x7f0257fff000` → 0x7f0257fff000n; undefined if QEMU said anything else. */
export function parseGpa2hva(text: string): bigint | undefined {
  const m = /is (0x[0-9a-f]+)/.exec(text);
  return m === null ? undefined : BigInt(m[1]);
}

/** The socket inode bound to `path` in /proc/net/unix text (`Num RefCount Protocol Flags Type St Inode Path`). */
export function findUnixSocketInode(procNetUnix: string, path: string): number | undefined {
  for (const line of procNetUnix.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 8 && fields.slice(7).join(' ') === path && fields[3] === '00010000') return Number(fields[6]);
  }
  return undefined;
}
