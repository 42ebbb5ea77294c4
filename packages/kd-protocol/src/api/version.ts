import { KdLimits } from './constants.js';
import { defineStruct, fieldAt, requireLength, viewOf, type FieldsOf } from './struct.js';

/** `DBGKD_GET_VERSION64` (spec 2.4), offsets relative to the structure (it sits at 0x10 of a manipulate). */
export const GET_VERSION64_LAYOUT = {
  majorVersion: { offset: 0x00, type: 'u16' },
  minorVersion: { offset: 0x02, type: 'u16' },
  protocolVersion: { offset: 0x04, type: 'u8' },
  kdSecondaryVersion: { offset: 0x05, type: 'u8' },
  flags: { offset: 0x06, type: 'u16' },
  machineType: { offset: 0x08, type: 'u16' },
  maxPacketType: { offset: 0x0a, type: 'u8' },
  maxStateChange: { offset: 0x0b, type: 'u8' },
  maxManipulate: { offset: 0x0c, type: 'u8' },
  simulation: { offset: 0x0d, type: 'u8' },
  kernBase: { offset: 0x10, type: 'u64' },
  psLoadedModuleList: { offset: 0x18, type: 'u64' },
  debuggerDataList: { offset: 0x20, type: 'u64' },
} as const;

export type GetVersion64 = FieldsOf<typeof GET_VERSION64_LAYOUT> & { unused: Uint8Array };

/** DBGKD_VERS_FLAG_* bits of GetVersion64.flags. */
export const KdVersionFlag = { Mp: 0x1, Data: 0x2, Ptr64: 0x4, NoMm: 0x8, HardwareStepping: 0x10, Partitions: 0x20, HalInNtos: 0x40 } as const;

/** Machine types of GetVersion64.machineType. */
export const KdMachineType = { I386: 0x014c, Amd64: 0x8664, Ia64: 0x0200, Arm: 0x01c4, Arm64: 0xaa64 } as const;

const codec = defineStruct('DBGKD_GET_VERSION64', KdLimits.GetVersionSize, GET_VERSION64_LAYOUT);

/** Decodes the 40-byte version block (the 2 unused bytes at 0x0E stay in `unused`). */
export function decodeGetVersion64(bytes: Uint8Array): GetVersion64 {
  requireLength(codec.name, () => fieldAt(codec.layout, bytes.length), bytes, codec.size);
  return codec.read(viewOf(bytes), bytes, 0);
}

export function encodeGetVersion64(version: Omit<GetVersion64, 'unused'> & { unused?: Uint8Array }): Uint8Array {
  const out = new Uint8Array(codec.size);
  codec.write(viewOf(out), out, 0, version);
  return out;
}
