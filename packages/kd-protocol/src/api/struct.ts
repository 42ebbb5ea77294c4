import { fieldRange, truncated } from './errors.js';

/**
 * A table-driven little-endian structure codec. Every KD structure here is described by a layout
 * (field name → offset and type); whatever bytes no field covers (padding, reserved words, unused
 * union space) are kept verbatim in `unused`, so decode → encode reproduces the input exactly,
 * garbage included (WinDbg leaves garbage there, spec 1.9).
 */
export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'bytes' | 'u64[]';

export interface FieldSpec {
  readonly offset: number;
  readonly type: FieldType;
  /** Byte count for `bytes`, element count for `u64[]`. */
  readonly count?: number;
}

export type Layout = Readonly<Record<string, FieldSpec>>;

type ValueOf<T extends FieldType> = T extends 'u64' ? bigint : T extends 'bytes' ? Uint8Array : T extends 'u64[]' ? bigint[] : number;

/** The decoded field values of a layout: u64 → bigint, bytes → Uint8Array, u64[] → bigint[], others → number. */
export type FieldsOf<L extends Layout> = { -readonly [K in keyof L]: ValueOf<L[K]['type']> };

export interface StructCodec<L extends Layout> {
  readonly name: string;
  readonly size: number;
  readonly layout: L;
  /** Byte ranges [start, end) that no field covers, in order. */
  readonly gaps: readonly (readonly [number, number])[];
  /** Total length of the gaps = length of `unused`. */
  readonly unusedLength: number;
  /** Reads the fields at `offset`; the caller has checked the length. */
  read(view: DataView, bytes: Uint8Array, offset: number): FieldsOf<L> & { unused: Uint8Array };
  /** Writes the fields (and `unused`, zeros when absent) at `offset`. */
  write(view: DataView, bytes: Uint8Array, offset: number, value: FieldsOf<L> & { unused?: Uint8Array }): void;
}

function widthOf(spec: FieldSpec): number {
  switch (spec.type) {
    case 'u8':
      return 1;
    case 'u16':
      return 2;
    case 'u32':
      return 4;
    case 'u64':
      return 8;
    case 'bytes':
      return spec.count ?? 0;
    case 'u64[]':
      return 8 * (spec.count ?? 0);
  }
}

const U64_MAX = (1n << 64n) - 1n;

export function defineStruct<L extends Layout>(name: string, size: number, layout: L): StructCodec<L> {
  const covered = new Uint8Array(size);
  const entries = Object.entries(layout);
  for (const [field, spec] of entries) {
    const end = spec.offset + widthOf(spec);
    if (end > size) throw new Error(`${name}.${field} ends at ${end}, past the structure size ${size}`);
    for (let i = spec.offset; i < end; i++) {
      if (covered[i] !== 0) throw new Error(`${name}.${field} overlaps another field at ${i}`);
      covered[i] = 1;
    }
  }
  const gaps: [number, number][] = [];
  for (let i = 0; i < size; ) {
    if (covered[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < size && covered[j] === 0) j++;
    gaps.push([i, j]);
    i = j;
  }
  const unusedLength = gaps.reduce((n, [a, b]) => n + b - a, 0);

  return {
    name,
    size,
    layout,
    gaps,
    unusedLength,
    read(view, bytes, offset) {
      const out: Record<string, unknown> = {};
      for (const [field, spec] of entries) {
        const at = offset + spec.offset;
        switch (spec.type) {
          case 'u8':
            out[field] = bytes[at];
            break;
          case 'u16':
            out[field] = view.getUint16(at, true);
            break;
          case 'u32':
            out[field] = view.getUint32(at, true);
            break;
          case 'u64':
            out[field] = view.getBigUint64(at, true);
            break;
          case 'bytes':
            out[field] = bytes.slice(at, at + (spec.count ?? 0));
            break;
          case 'u64[]': {
            const list: bigint[] = [];
            for (let k = 0; k < (spec.count ?? 0); k++) list.push(view.getBigUint64(at + 8 * k, true));
            out[field] = list;
            break;
          }
        }
      }
      const unused = new Uint8Array(unusedLength);
      let u = 0;
      for (const [a, b] of gaps) {
        unused.set(bytes.subarray(offset + a, offset + b), u);
        u += b - a;
      }
      out.unused = unused;
      return out as FieldsOf<L> & { unused: Uint8Array };
    },
    write(view, bytes, offset, value) {
      const record = value as Record<string, unknown>;
      for (const [field, spec] of entries) {
        const at = offset + spec.offset;
        const v = record[field];
        switch (spec.type) {
          case 'u8':
          case 'u16':
          case 'u32': {
            const max = spec.type === 'u8' ? 0xff : spec.type === 'u16' ? 0xffff : 0xffffffff;
            const n = v ?? 0;
            if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw fieldRange(name, field, v);
            if (spec.type === 'u8') bytes[at] = n;
            else if (spec.type === 'u16') view.setUint16(at, n, true);
            else view.setUint32(at, n, true);
            break;
          }
          case 'u64': {
            const n = v ?? 0n;
            if (typeof n !== 'bigint' || n < 0n || n > U64_MAX) throw fieldRange(name, field, v);
            view.setBigUint64(at, n, true);
            break;
          }
          case 'bytes': {
            const b = v ?? new Uint8Array(0);
            if (!(b instanceof Uint8Array) || b.length > (spec.count ?? 0)) throw fieldRange(name, field, v);
            bytes.set(b, at); // a shorter array leaves the rest zero
            break;
          }
          case 'u64[]': {
            const list = v ?? [];
            if (!Array.isArray(list) || list.length > (spec.count ?? 0)) throw fieldRange(name, field, v);
            list.forEach((item: unknown, k) => {
              if (typeof item !== 'bigint' || item < 0n || item > U64_MAX) throw fieldRange(name, `${field}[${k}]`, item);
              view.setBigUint64(at + 8 * k, item, true);
            });
            break;
          }
        }
      }
      const unused = value.unused;
      if (unused !== undefined) {
        if (unused.length !== unusedLength) throw fieldRange(name, 'unused', `${unused.length} bytes (need ${unusedLength})`);
        let u = 0;
        for (const [a, b] of gaps) {
          bytes.set(unused.subarray(u, u + b - a), offset + a);
          u += b - a;
        }
      }
    },
  };
}

/** A DataView over exactly the bytes of `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Throws ERR_KD_API_TRUNCATED unless `bytes` holds at least `need` bytes. `field` may be a function,
 * called only when the bytes are short (naming the field walks a layout: not on every decode).
 */
export function requireLength(structure: string, field: string | (() => string), bytes: Uint8Array, need: number): void {
  if (bytes.length < need) throw truncated(structure, typeof field === 'string' ? field : field(), need, bytes.length);
}

/** Shifts every field of a layout by `delta` bytes (to embed a structure in a union). */
export function shiftLayout<L extends Layout>(layout: L, delta: number): L {
  const out: Record<string, FieldSpec> = {};
  for (const [field, spec] of Object.entries(layout)) out[field] = { ...spec, offset: spec.offset + delta };
  return out as unknown as L;
}

/** The structure field a given offset falls in, for error messages naming the field. */
export function fieldAt(layout: Layout, offset: number): string {
  for (const [field, spec] of Object.entries(layout)) {
    if (offset >= spec.offset && offset < spec.offset + widthOf(spec)) return field;
  }
  return `byte 0x${offset.toString(16)}`;
}
