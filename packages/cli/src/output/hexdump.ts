/** WinDbg-style `db` lines: address with a backtick, 16 bytes in hex, and their printable characters. */
export function hexdump(address: bigint, bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    const at = (address + BigInt(offset)).toString(16).padStart(16, '0');
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.slice(0, 8)}\`${at.slice(8)}  ${`${left}${right ? `-${right}` : ''}`.padEnd(47)}  ${text}`);
  }
  return lines;
}
