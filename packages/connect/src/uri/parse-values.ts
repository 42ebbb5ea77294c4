/** Value parsers shared by URI query parameters and command-line options. They throw plain Errors; callers wrap them. */

export function parseIntegerOption(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new Error(`${name}="${text}" is not a whole number`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${text} is out of range (${min}..${max})`);
  }
  return value;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
/** The virtual kernel's limits (@vmkd/sim-target): 32 MiB … 256 GiB in whole pages. */
const MIN_MEMORY = 32 * 1024 ** 2;
const MAX_MEMORY = 256 * 1024 ** 3;

/** `256M`, `1G`, `33554432`, `65536KiB` → bytes (binary units); 32 MiB ..= 256 GiB, whole 4 KiB pages. */
export function parseByteSize(name: string, text: string): number {
  const match = /^(\d+)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!match) throw new Error(`${name}="${text}" is not a size like 256M or 1G`);
  const bytes = Number(match[1]) * SIZE_UNITS[match[2].toUpperCase()];
  if (!Number.isSafeInteger(bytes) || bytes < MIN_MEMORY || bytes > MAX_MEMORY) {
    throw new Error(`${name}=${text} is out of range (32M..256G)`);
  }
  if (bytes % 4096 !== 0) throw new Error(`${name}=${text} is not a whole number of 4 KiB pages`);
  return bytes;
}
