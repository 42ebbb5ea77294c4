import type { TargetBackend } from '../target-backend.js';

/**
 * SearchMemory and FillMemory (spec 2.2/2.3) over a TargetBackend's reads and writes: the work a
 * Windows KD stub does itself rather than asking the debugger to move the bytes. Both are bounded:
 * a search scans at most `MAX_SEARCH` bytes per request, as Windows limits one request's work.
 */

/** The most bytes one SearchMemory request scans (the debugger continues from where it stopped). */
export const MAX_SEARCH = 64 * 1024 * 1024;
/** The most bytes one FillMemory request writes; a longer fill reports the shorter count. */
export const MAX_FILL = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;
const PAGE = 0x1000n;

/**
 * The first address in [start, start + length) where `pattern` begins, reading in chunks and
 * skipping unreadable pages; undefined if none.
 */
export function searchVirtual(backend: TargetBackend, cpu: number, start: bigint, length: bigint, pattern: Uint8Array): bigint | undefined {
  const end = start + (length < BigInt(MAX_SEARCH) ? length : BigInt(MAX_SEARCH));
  let at = start;
  // Bytes carried over from the previous chunk, so a match across the boundary is found.
  let carry = new Uint8Array(0);
  let carryAt = at;
  while (at < end) {
    const want = Number(end - at < BigInt(CHUNK) ? end - at : BigInt(CHUNK));
    const got = backend.readVirtual(at, want, cpu);
    if (got.length === 0) {
      // Unreadable: skip to the next page; a match cannot span the hole.
      at = (at / PAGE + 1n) * PAGE;
      carry = new Uint8Array(0);
      carryAt = at;
      continue;
    }
    const window = new Uint8Array(carry.length + got.length);
    window.set(carry);
    window.set(got, carry.length);
    const hit = indexOf(window, pattern);
    if (hit >= 0 && carryAt + BigInt(hit) + BigInt(pattern.length) <= end) return carryAt + BigInt(hit);
    at += BigInt(got.length);
    const keep = Math.min(pattern.length - 1, window.length);
    carry = window.slice(window.length - keep);
    carryAt = at - BigInt(keep);
  }
  return undefined;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first); i >= 0 && i <= haystack.length - needle.length; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Writes `pattern` repeated over `length` bytes; returns the bytes written (the writable prefix). */
export function fillMemory(backend: TargetBackend, cpu: number, physical: boolean, address: bigint, length: number, pattern: Uint8Array): number {
  let done = 0;
  while (done < length) {
    const n = Math.min(CHUNK, length - done);
    const block = new Uint8Array(n);
    for (let i = 0; i < n; i++) block[i] = pattern[(done + i) % pattern.length];
    const at = address + BigInt(done);
    const written = physical ? backend.writePhysical(at, block) : backend.writeVirtual(at, block, cpu);
    done += written;
    if (written < n) break;
  }
  return done;
}
