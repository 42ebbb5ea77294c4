import { MAX_SEARCH } from '@vmkd/kd-protocol';
import type { GuestReader } from './guest-reader.js';
import type { PagingMode } from './page-walk.js';

/**
 * SearchMemory (KD spec 2.2, DBGKD_SEARCH_MEMORY in 2.3) answered from the memory source, with the
 * target's own semantics (kd-protocol's TargetSession, memory-ops.ts): the first address `a` at or
 * after `start` where `pattern` begins, with `a + pattern.length` no further than `start + length`
 * and the scan bounded to MAX_SEARCH bytes as one request is on the target; unreadable pages are
 * skipped and a match cannot span one. A match across a page boundary inside readable memory is
 * found (the last `pattern.length - 1` bytes of each chunk are carried into the next).
 *
 * `kd`: the scan met memory only the guest can judge (a not-present entry that is not zero, a page
 * outside RAM), so the whole request goes to the guest rather than risk a different answer.
 */
export type SourceSearchResult =
  | { readonly kind: 'found'; readonly address: bigint; readonly scanned: number }
  | { readonly kind: 'none'; readonly scanned: number }
  | { readonly kind: 'kd' };

/** Bytes read from the source per step: large reads, one buffer for the whole search. */
const CHUNK = 1 << 20;
const PAGE = 4096n;
const U64_END = 1n << 64n;

export async function searchFromSource(reader: GuestReader, mode: PagingMode, start: bigint, length: bigint, pattern: Uint8Array): Promise<SourceSearchResult> {
  if (pattern.length === 0) return { kind: 'none', scanned: 0 };
  start = BigInt.asUintN(64, start);
  let end = start + (length < BigInt(MAX_SEARCH) ? length : BigInt(MAX_SEARCH));
  if (end > U64_END) end = U64_END;
  const needle = Buffer.from(pattern.buffer, pattern.byteOffset, pattern.length);
  const keep = pattern.length - 1;
  // One buffer: the carried tail of the previous chunk at its start, then the chunk.
  const window = Buffer.alloc(keep + CHUNK);
  let carried = 0;
  let at = start;
  let scanned = 0;
  while (at < end) {
    const want = Number(end - at < BigInt(CHUNK) ? end - at : BigInt(CHUNK));
    const got = await reader.readVirtualPrefix(at, window.subarray(carried, carried + want), mode);
    if (got.stop === 'kd') return { kind: 'kd' };
    scanned += got.bytes;
    if (got.bytes > 0) {
      const filled = carried + got.bytes;
      const hit = window.subarray(0, filled).indexOf(needle);
      if (hit >= 0) return { kind: 'found', address: at - BigInt(carried) + BigInt(hit), scanned };
      const tail = Math.min(keep, filled);
      window.copyWithin(0, filled - tail, filled);
      carried = tail;
      at += BigInt(got.bytes);
    }
    if (got.stop === 'hole') {
      // The target skips unreadable pages one by one; every page up to resumeAt is as unreadable.
      carried = 0;
      const next = got.resumeAt > at ? got.resumeAt : (at / PAGE + 1n) * PAGE;
      at = next;
    }
  }
  return { kind: 'none', scanned };
}
