import {
  KdApi,
  KdPacketType,
  createManipulate,
  encodeManipulate,
  encodePrintString,
  encodeWaitStateChange,
  type KdPacket,
} from '@vmkd/kd-protocol';

/** A manipulate request the way a debugger sends it. */
export function request(apiNumber: number, fields: Record<string, unknown> = {}): KdPacket {
  return { type: KdPacketType.StateManipulate, payload: encodeManipulate(createManipulate(apiNumber, fields as never)) };
}

export function readVirtual(address: bigint, count: number): KdPacket {
  return request(KdApi.ReadVirtualMemory, { targetBaseAddress: address, transferCount: count });
}

export function continueRequest(): KdPacket {
  return request(KdApi.ContinueApi2, { continueStatus: 0x00010002 });
}

/** A breakpoint state change from `cpu` at `pc`. */
export function breakpointStateChange(pc: bigint, cpu = 0): KdPacket {
  return {
    type: KdPacketType.StateChange64,
    payload: encodeWaitStateChange({ kind: 'exception', arch: 'amd64', processor: cpu, numberProcessors: 2, programCounter: pc, exceptionCode: 0x80000003, exceptionAddress: pc, firstChance: 1 } as never),
  };
}

export function print(text: string): KdPacket {
  return { type: KdPacketType.DebugIo, payload: encodePrintString(text) };
}
