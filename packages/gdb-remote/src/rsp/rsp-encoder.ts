/**
 * The sending half of RSP framing (gdb manual, "Remote Protocol → Overview"): `$body#cs`. Bodies
 * are escaped (`$`, `#`, `}` and `*` become `}` x ^ 0x20) so binary replies (qXfer, `x`) survive; the
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
  return encodeBinaryPacket(undefined, bytes);
}

/**
 * Frames binary data, optionally after a one-byte prefix (gdb's `x` reply starts with `b`), without
 * first copying the two into one buffer: the `x` reply path frames up to a packet's worth of
 * memory per request.
 */
export function encodeBinaryPacket(prefix: number | undefined, bytes: Uint8Array): Uint8Array {
  const head = prefix === undefined ? 0 : 1;
  // The prefix is a letter: it never needs escaping.
  const first = prefix ?? 0;
  // Fast path for text replies (nothing to escape): the frame is the body copied once (native)
  // and the checksum is one tight loop.
  if (bytes.indexOf(DOLLAR) < 0 && bytes.indexOf(HASH) < 0 && bytes.indexOf(ESCAPE) < 0 && bytes.indexOf(STAR) < 0) {
    const out = Buffer.allocUnsafe(head + bytes.length + 4);
    out[0] = DOLLAR;
    if (head === 1) out[1] = first;
    out.set(bytes, 1 + head);
    let sum = first;
    for (let i = 0; i < bytes.length; i++) sum += bytes[i];
    const o = 1 + head + bytes.length;
    out[o] = HASH;
    out[o + 1] = HEX.charCodeAt((sum >> 4) & 0xf);
    out[o + 2] = HEX.charCodeAt(sum & 0xf);
    return out;
  }
  let escapes = 0;
  for (let i = 0; i < bytes.length; i++) if (needsEscape(bytes[i])) escapes++;
  const out = Buffer.allocUnsafe(head + bytes.length + escapes + 4);
  out[0] = DOLLAR;
  let o = 1;
  let sum = first;
  if (head === 1) out[o++] = first;
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
/** The same for two bytes at once (a little-endian 16-bit word): half the loop iterations. */
const HEX_SUM_PAIR = Uint16Array.from({ length: 65536 }, (_, w) => HEX_SUM[w & 0xff] + HEX_SUM[w >> 8]);

/**
 * A framed `m` reply straight from the bytes read: the hex digits by Node's native encoder (about
 * twice as fast as a JS loop), and the checksum summed from a table per two bytes without looking
 * at the hex at all. The memory read path's cost is otherwise dominated by this conversion.
 */
export function encodeHexPacket(data: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(data.length * 2 + 4);
  out[0] = DOLLAR;
  out.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex'), 1, 'latin1');
  let sum = 0;
  let i = 0;
  if (data.byteOffset % 2 === 0) {
    const words = new Uint16Array(data.buffer, data.byteOffset, data.length >> 1);
    for (let w = 0; w < words.length; w++) sum += HEX_SUM_PAIR[words[w]];
    i = words.length * 2;
  }
  for (; i < data.length; i++) sum += HEX_SUM[data[i]];
  const o = data.length * 2 + 1;
  out[o] = HASH;
  out[o + 1] = HEX_CODES[(sum >> 4) & 0xf];
  out[o + 2] = HEX_CODES[sum & 0xf];
  return out;
}
