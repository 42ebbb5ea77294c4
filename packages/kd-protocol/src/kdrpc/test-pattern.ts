import { KDRPC_TEST_PATTERN_LENGTH } from './constants.js';
import { KdrpcErrorCode, badLength, kdrpcError } from './errors.js';

const requestPattern = new Uint8Array(KDRPC_TEST_PATTERN_LENGTH).map((_, i) => i & 0xff);
const replyPattern = new Uint8Array(KDRPC_TEST_PATTERN_LENGTH).map((_, i) => (i ^ 0x55) & 0xff);

/** The `t` pattern (§4.4): request byte i = i & 0xFF, reply byte i = (i ^ 0x55) & 0xFF. Returns a copy. */
export function kdrpcTestPattern(which: 'request' | 'reply'): Uint8Array {
  return (which === 'request' ? requestPattern : replyPattern).slice();
}

/** Throws `ERR_KDRPC_BAD_TEST_PATTERN` at the first wrong byte. */
export function checkKdrpcTestPattern(which: 'request' | 'reply', pattern: Uint8Array): void {
  const expected = which === 'request' ? requestPattern : replyPattern;
  if (pattern.length !== expected.length) throw badLength('t', `${which} pattern`, expected.length, pattern.length);
  for (let i = 0; i < expected.length; i++) {
    if (pattern[i] !== expected[i]) {
      throw kdrpcError(KdrpcErrorCode.BadTestPattern, `t: ${which} pattern byte ${i} is ${pattern[i]}, expected ${expected[i]}`, {
        field: `pattern[${i}]`,
        offset: i,
        expected: expected[i],
        actual: pattern[i],
      });
    }
  }
}
