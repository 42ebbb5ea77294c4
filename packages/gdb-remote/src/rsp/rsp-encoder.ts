/**
 * The sending half of RSP framing (gdb manual, "Remote Protocol → Overview"): `$body#cs`. Bodies
 * are escaped (`$`, `#`, `}` and `*` become `}` x ^ 0x20) so binary replies (qXfer) survive; the
 * checksum is over the escaped bytes. Text replies never contain those characters, so escaping is
 * the identity for them. Replies are never run-length encoded (a reply may, we need not).
 */

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const HEX = '0123456789abcdef';

function needsEscape(b: number): boolean {
  return b === DOLLAR || b === HASH || b === ESCAPE || b === STAR;
}

/** Frames one packet. */
export function encodeRspPacket(body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  let escapes = 0;
  for (let i = 0; i < bytes.length; i++) if (needsEscape(bytes[i])) escapes++;
  const out = Buffer.allocUnsafe(bytes.length + escapes + 4);
  out[0] = DOLLAR;
  let o = 1;
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (needsEscape(b)) {
      out[o++] = ESCAPE;
      out[o++] = b ^ 0x20;
      sum += ESCAPE + (b ^ 0x20);
    } else {
      out[o++] = b;
      sum += b;
    }
  }
  out[o] = HASH;
  out[o + 1] = HEX.charCodeAt((sum >> 4) & 0xf);
  out[o + 2] = HEX.charCodeAt(sum & 0xf);
  return out;
}
