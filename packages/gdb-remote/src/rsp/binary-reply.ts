import { MINUS, PLUS } from './rsp-bytes.js';

/**
 * The `x` packet (binary memory read) comes in two dialects that differ only in the reply:
 *
 * - gdb's (gdb 16 and later; gdb manual, "Packets", `x`): `b` followed by the bytes, so an empty
 *   read (`b`) is told from "not supported" (the empty packet). A stub offers it with
 *   `binary-upload+` in its qSupported reply; a client that knows it may say so in its request.
 * - lldb's (lldb 3.5 to 19; lldbgdbremote.md, "x"): the bytes alone. lldb probes with `x0,0` and
 *   uses `x` when the answer is `OK`.
 *
 * So the stub answers gdb's way unless a client that did not announce `binary-upload+` probes with
 * `x0,0` (what lldb before 20 does): that client gets `OK` and raw replies from then on. Both are
 * escaped the same way (`$`, `#`, `}`, `*` as `}` + byte ^ 0x20: gdb manual, "Overview").
 */
export type BinaryReadDialect = 'gdb' | 'lldb';

const E = 0x45;
const O = 0x4f;
const K = 0x4b;
const SEMICOLON = 0x3b;

function isHexDigit(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

/**
 * lldb classifies every reply before it reads it as data (StringExtractorGDBRemote::
 * GetResponseType): `OK`; `E` + two hex digits, alone or followed by `;` and only hex digits; a
 * lone `+` or `-`; the empty packet. Raw memory can look like any of them. This returns the bytes
 * to send for a read of `requested` bytes whose readable prefix is `data` (not empty), so lldb
 * takes them as data:
 *
 * - what would look like `OK` or an `E` reply is cut to its first byte: lldb accepts a short read
 *   and asks for the rest with the next `x` (Process::ReadMemoryFromInferior loops);
 * - a lone `+` or `-` answering a one-byte read gets a filler byte behind it: lldb copies at most
 *   the size it asked for (ProcessGDBRemote::DoReadMemory, "Don't write past the end of BUF");
 * - a lone `+` or `-` that is all that could be read of a longer request cannot be sent at all
 *   (undefined: the caller answers with an error, and lldb reports that address unreadable).
 */
export function lldbRawReply(data: Uint8Array, requested: number): Uint8Array | undefined {
  const first = data[0];
  if (data.length === 1 && (first === PLUS || first === MINUS)) {
    if (requested !== 1) return undefined;
    return Uint8Array.of(first, 0);
  }
  if (data.length === 2 && first === O && data[1] === K) return data.subarray(0, 1);
  if (first === E && isHexDigit(data[1]) && isHexDigit(data[2])) {
    if (data.length === 3) return data.subarray(0, 1);
    if (data[3] === SEMICOLON && data.subarray(4).every(isHexDigit)) return data.subarray(0, 1);
  }
  return data;
}
