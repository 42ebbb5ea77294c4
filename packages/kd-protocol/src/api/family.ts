import { VmkdError } from '../errors.js';
import { KdLimits } from './constants.js';
import { KdApiErrorCode } from './errors.js';
import { defineStruct, fieldAt, requireLength, viewOf, type FieldsOf, type Layout, type StructCodec } from './struct.js';

/**
 * A message family: a fixed-size structure whose first u32 (the ApiNumber) selects a union layout,
 * followed by free-form data. DEBUG_IO, TRACE_IO, FILE_IO and CONTROL_REQUEST are all this shape.
 */
export type FamilyMessage<H extends Layout, U extends Record<string, Layout>> = {
  [K in keyof U & string]: { layout: K } & FieldsOf<H> & FieldsOf<U[K]> & { unused: Uint8Array; data: Uint8Array };
}[keyof U & string];

export type FamilyInit<H extends Layout, U extends Record<string, Layout>> = {
  [K in keyof U & string]: { layout: K; apiNumber: number } & Partial<
    FieldsOf<H> & FieldsOf<U[K]> & { unused: Uint8Array; data: Uint8Array }
  >;
}[keyof U & string];

export interface Family<H extends Layout, U extends Record<string, Layout>> {
  decode(payload: Uint8Array): FamilyMessage<H, U>;
  encode(message: FamilyInit<H, U>): Uint8Array;
  layoutOf(apiNumber: number): keyof U & string;
}

export function defineFamily<H extends Layout, U extends Record<string, Layout> & { none: Layout }>(
  name: string,
  size: number,
  header: H,
  unions: U,
  byApi: Readonly<Record<number, keyof U & string>>,
): Family<H, U> {
  const codecs = new Map<string, StructCodec<Layout>>();
  for (const [key, union] of Object.entries(unions)) codecs.set(key, defineStruct(name, size, { ...header, ...union }));
  const layoutOf = (apiNumber: number): keyof U & string => byApi[apiNumber] ?? 'none';

  return {
    layoutOf,
    decode(payload) {
      if (payload.length < size) {
        const key = payload.length >= 4 ? layoutOf(viewOf(payload).getUint32(0, true)) : 'none';
        requireLength(name, () => fieldAt({ ...header, ...unions[key] }, payload.length), payload, size);
      }
      const view = viewOf(payload);
      const key = layoutOf(view.getUint32(0, true));
      const out = codecs.get(key)!.read(view, payload, 0) as Record<string, unknown>;
      out.layout = key;
      out.data = payload.subarray(size);
      return out as FamilyMessage<H, U>;
    },
    encode(message) {
      const data = message.data ?? new Uint8Array(0);
      if (size + data.length > KdLimits.MaxAcceptPayload) {
        throw new VmkdError(KdApiErrorCode.TooLarge, `${name}: ${data.length} data bytes exceed the packet limit`, {
          details: { structure: name, field: 'data', size: size + data.length, max: KdLimits.MaxAcceptPayload },
        });
      }
      const codec = codecs.get(message.layout);
      if (codec === undefined) {
        throw new VmkdError(KdApiErrorCode.FieldRange, `${name}: unknown layout ${String(message.layout)}`, {
          details: { structure: name, field: 'layout' },
        });
      }
      const out = new Uint8Array(size + data.length);
      codec.write(viewOf(out), out, 0, message as never);
      out.set(data, size);
      return out;
    },
  };
}
