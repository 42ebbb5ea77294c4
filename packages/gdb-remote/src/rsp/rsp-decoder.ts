import { DOLLAR, ESCAPE, HASH, INTERRUPT, MINUS, PLUS, STAR } from './rsp-bytes.js';

/**
 * The receiving half of GDB's remote serial protocol framing (gdb manual, "Remote Protocol →
 * Overview") as a pure reducer: `(state, bytes) → { state, events }`. No I/O; the connection shell
 * feeds socket chunks in and acts on the events.
 *
 * - `$body#cs`: the body is unescaped (`}` x → x ^ 0x20) and run-length expanded (`x*n` repeats x
 *   `n − 29` more times); `cs` is two hex digits, the sum of the body *as transmitted* mod 256.
 * - `+` / `-` outside a packet acknowledge our last packet (or ask for it again).
 * - 0x03 outside a packet is the interrupt request (gdb's Ctrl-C).
 * - Anything else outside a packet is skipped and counted; a `$` inside a body restarts the packet
 *   (the sender gave up on the old one).
 * - A body longer than `maxBody` is not kept: the packet is reported `oversized` once its `#cs`
 *   arrives, so the buffer never grows past the bound.
 */

export type RspEvent =
  | { readonly kind: 'packet'; readonly data: Uint8Array }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }
  | { readonly kind: 'interrupt' }
  /** A complete packet whose checksum did not match (the sender should resend it after our `-`). */
  | { readonly kind: 'bad-checksum'; readonly expected: number; readonly got: number }
  /** A complete packet longer than the bound; its body was discarded. */
  | { readonly kind: 'oversized'; readonly length: number }
  /** A packet that cannot be decoded (a lone escape, a run-length with nothing to repeat, a bad count). */
  | { readonly kind: 'malformed'; readonly reason: string }
  /** Bytes skipped between packets. */
  | { readonly kind: 'garbage'; readonly count: number };

export interface RspDecoderState {
  readonly phase: 'idle' | 'body' | 'cs1' | 'cs2';
  /** The raw (still escaped) body bytes seen so far; empty once oversized. */
  readonly body: Uint8Array;
  readonly length: number;
  readonly sum: number;
  readonly csHigh: number;
  readonly maxBody: number;
}

export function initialRspDecoderState(maxBody: number): RspDecoderState {
  return { phase: 'idle', body: new Uint8Array(0), length: 0, sum: 0, csHigh: 0, maxBody };
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

export function decodeRsp(state: RspDecoderState, chunk: Uint8Array): { state: RspDecoderState; events: RspEvent[] } {
  const events: RspEvent[] = [];
  let { phase, length, sum, csHigh } = state;
  const { maxBody } = state;
  // The body grows in a local buffer; it is copied into the returned state only at the chunk's end.
  let body = state.body;
  let garbage = 0;
  const flushGarbage = (): void => {
    if (garbage > 0) events.push({ kind: 'garbage', count: garbage });
    garbage = 0;
  };
  const append = (b: number): void => {
    if (length < maxBody) {
      if (length >= body.length) {
        const grown = new Uint8Array(Math.min(maxBody, Math.max(64, body.length * 2)));
        grown.set(body.subarray(0, length));
        body = grown;
      }
      body[length] = b;
    }
    length++;
  };
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i];
    switch (phase) {
      case 'idle':
        if (b === DOLLAR) {
          flushGarbage();
          phase = 'body';
          length = 0;
          sum = 0;
        } else if (b === PLUS) {
          flushGarbage();
          events.push({ kind: 'ack' });
        } else if (b === MINUS) {
          flushGarbage();
          events.push({ kind: 'nack' });
        } else if (b === INTERRUPT) {
          flushGarbage();
          events.push({ kind: 'interrupt' });
        } else {
          garbage++;
        }
        break;
      case 'body':
        if (b === HASH) {
          phase = 'cs1';
        } else if (b === DOLLAR) {
          // A new packet start inside a body: the old one is abandoned.
          length = 0;
          sum = 0;
        } else {
          sum = (sum + b) & 0xff;
          append(b);
        }
        break;
      case 'cs1': {
        const v = hexValue(b);
        if (v < 0) {
          events.push({ kind: 'malformed', reason: 'checksum digit is not hex' });
          phase = b === DOLLAR ? 'body' : 'idle';
          length = 0;
          sum = 0;
        } else {
          csHigh = v;
          phase = 'cs2';
        }
        break;
      }
      case 'cs2': {
        const v = hexValue(b);
        phase = 'idle';
        if (v < 0) {
          events.push({ kind: 'malformed', reason: 'checksum digit is not hex' });
        } else if (((csHigh << 4) | v) !== sum) {
          events.push({ kind: 'bad-checksum', expected: sum, got: (csHigh << 4) | v });
        } else if (length > maxBody) {
          events.push({ kind: 'oversized', length });
        } else {
          const decoded = expandBody(body.subarray(0, length));
          events.push(typeof decoded === 'string' ? { kind: 'malformed', reason: decoded } : { kind: 'packet', data: decoded });
        }
        length = 0;
        sum = 0;
        break;
      }
    }
  }
  flushGarbage();
  const kept = phase === 'body' || phase === 'cs1' || phase === 'cs2' ? body.slice(0, Math.min(length, maxBody)) : new Uint8Array(0);
  return { state: { phase, body: kept, length, sum, csHigh, maxBody }, events };
}

/**
 * Undoes escaping and run-length encoding of a received body. Returns the bytes, or the reason it
 * cannot be decoded. Run-length counts are `n − 29` with `n` printable (gdb never sends `#`/`$`
 * counts, 6 and 7, and the manual caps the count at 126 − 29 = 97).
 */
export function expandBody(raw: Uint8Array): Uint8Array | string {
  // Fast path: nothing to undo.
  if (raw.indexOf(ESCAPE) < 0 && raw.indexOf(STAR) < 0) return raw.slice();
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (b === ESCAPE) {
      if (i + 1 >= raw.length) return 'escape character at the end of the packet';
      out.push(raw[++i] ^ 0x20);
    } else if (b === STAR) {
      if (out.length === 0) return 'run-length marker with nothing to repeat';
      if (i + 1 >= raw.length) return 'run-length marker without a count';
      const n = raw[++i] - 29;
      if (n < 3 || n > 97) return `run-length count ${n} out of range`;
      const last = out[out.length - 1];
      for (let k = 0; k < n; k++) out.push(last);
    } else {
      out.push(b);
    }
  }
  return Uint8Array.from(out);
}
