import { VmkdError } from '../errors.js';

/**
 * Streaming hex-text → bytes. Whitespace (spaces, tabs, newlines) is ignored anywhere, even
 * between the two digits of a byte; anything else is an error naming the character's offset.
 */
export class HexTextDecoder {
  private pending = -1;
  private offset = 0;

  /** Bytes for the digits in `text`; on a bad character, the bytes before it and the error. */
  push(text: string): { bytes: Uint8Array; error?: VmkdError } {
    const out = new Uint8Array(text.length >> 1 || 1);
    let n = 0;
    for (let i = 0; i < text.length; i++, this.offset++) {
      const c = text.charCodeAt(i);
      const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c === 0x20 || (c >= 0x09 && c <= 0x0d) ? -2 : -1;
      if (v === -2) continue;
      if (v === -1) {
        const error = new VmkdError('ERR_KD_DECODE_BAD_HEX', `not a hex digit: ${JSON.stringify(text[i])} at character ${this.offset}`, {
          details: { offset: this.offset },
        });
        return { bytes: out.subarray(0, n), error };
      }
      if (this.pending < 0) this.pending = v;
      else {
        if (n === out.length) throw new Error('unreachable: output sized for every digit pair');
        out[n++] = (this.pending << 4) | v;
        this.pending = -1;
      }
    }
    return { bytes: out.subarray(0, n) };
  }

  /** True if an odd digit is left over. */
  get incomplete(): boolean {
    return this.pending >= 0;
  }
}
