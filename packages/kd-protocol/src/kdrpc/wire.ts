import { KdrpcErrorCode, kdrpcError } from './errors.js';
import type { KdContext, SendableKdBuffer } from './types.js';

/** Little-endian field writers and readers with range checks that name the field. */

export function checkU16(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw kdrpcError(KdrpcErrorCode.FieldRange, `${field} = ${value} does not fit a u16`, { field, value });
  }
  return value;
}

export function checkU32(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw kdrpcError(KdrpcErrorCode.FieldRange, `${field} = ${value} does not fit a u32`, { field, value });
  }
  return value;
}

export function writeSkb(view: DataView, offset: number, field: string, skb: SendableKdBuffer): void {
  view.setUint16(offset, checkU16(`${field}.Length`, skb.length), true);
  view.setUint16(offset + 2, checkU16(`${field}.MaxLength`, skb.maxLength), true);
}

export function readSkb(view: DataView, offset: number): SendableKdBuffer {
  return { length: view.getUint16(offset, true), maxLength: view.getUint16(offset + 2, true) };
}

export function writeKdContext(view: DataView, offset: number, context: KdContext): void {
  view.setUint32(offset, checkU32('KD_CONTEXT.RetryCount', context.retryCount), true);
  view.setUint8(offset + 4, context.breakInRequested ? 1 : 0);
  view.setUint8(offset + 5, 0);
}

export function readKdContext(view: DataView, offset: number): KdContext {
  return { retryCount: view.getUint32(offset, true), breakInRequested: view.getUint8(offset + 4) !== 0 };
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array, at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}
