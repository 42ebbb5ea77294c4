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
  // Fast path for what is sent most (hex memory replies): nothing to escape, so the frame is the
  // body copied once (native) and the checksum is one tight loop.
  if (bytes.indexOf(DOLLAR) < 0 && bytes.indexOf(HASH) < 0 && bytes.indexOf(ESCAPE) < 0 && bytes.indexOf(STAR) < 0) {
    const out = Buffer.allocUnsafe(bytes.length + 4);
    out[0] = DOLLAR;
    out.set(bytes, 1);
    let sum = 0;
    for (let i = 0; i < bytes.length; i++) sum += bytes[i];
    out[bytes.length + 1] = HASH;
    out[bytes.length + 2] = HEX.charCodeAt((sum >> 4) & 0xf);
    out[bytes.length + 3] = HEX.charCodeAt(sum & 0xf);
    return out;
  }
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

const HEX_CODES = Uint8Array.from(Buffer.from(HEX, 'latin1'));
/** Sum of the two hex digits of each byte value: the checksum contribution of one byte in hex. */
const HEX_SUM = Uint16Array.from({ length: 256 }, (_, b) => HEX_CODES[b >> 4] + HEX_CODES[b & 15]);

/**
 * A framed `m` reply straight from the bytes read: hex digits written into the frame and the
 * checksum summed per byte from a table, with no intermediate string (the memory read path's
 * cost is otherwise dominated by string conversions).
 */
export function encodeHexPacket(data: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(data.length * 2 + 4);
  out[0] = DOLLAR;
  let sum = 0;
  let o = 1;
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    out[o] = HEX_CODES[b >> 4];
    out[o + 1] = HEX_CODES[b & 15];
    o += 2;
    sum += HEX_SUM[b];
  }
  out[o] = HASH;
  out[o + 1] = HEX_CODES[(sum >> 4) & 0xf];
  out[o + 2] = HEX_CODES[sum & 0xf];
  return out;
}
