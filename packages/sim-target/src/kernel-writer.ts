import type { VirtualMemory } from './virtual-memory.js';

/** Little-endian stores into kernel virtual memory while the kernel is being built; a miss is a builder bug. */
export class KernelWriter {
  constructor(private readonly vm: VirtualMemory) {}

  bytes(va: bigint, data: Uint8Array): void {
    const n = this.vm.write(va, data);
    if (n !== data.length) throw new Error(`kernel builder: 0x${va.toString(16)} is not mapped (${n}/${data.length} bytes written)`);
  }

  u8(va: bigint, value: number): void {
    this.bytes(va, Uint8Array.of(value & 0xff));
  }

  u16(va: bigint, value: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, value, true);
    this.bytes(va, b);
  }

  u32(va: bigint, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    this.bytes(va, b);
  }

  u64(va: bigint, value: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.bytes(va, b);
  }

  /** A LIST_ENTRY64 { Flink, Blink }. */
  listEntry(va: bigint, flink: bigint, blink: bigint): void {
    this.u64(va, flink);
    this.u64(va + 8n, blink);
  }

  /** NUL-terminated ANSI text. */
  ansi(va: bigint, text: string): void {
    const b = new Uint8Array(text.length + 1);
    for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i) & 0xff;
    this.bytes(va, b);
  }

  /** NUL-terminated UTF-16LE text; returns its length in bytes without the NUL. */
  utf16(va: bigint, text: string): number {
    const b = new Uint8Array(text.length * 2 + 2);
    const v = new DataView(b.buffer);
    for (let i = 0; i < text.length; i++) v.setUint16(i * 2, text.charCodeAt(i), true);
    this.bytes(va, b);
    return text.length * 2;
  }

  /** A UNICODE_STRING { Length, MaximumLength, Buffer } at va describing a UTF-16 buffer. */
  unicodeString(va: bigint, length: number, buffer: bigint): void {
    this.u16(va, length);
    this.u16(va + 2n, length + 2);
    this.u32(va + 4n, 0);
    this.u64(va + 8n, buffer);
  }
}
