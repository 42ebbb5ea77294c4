/** KD packet types (spec 1.3). */
export const KdPacketType = {
  Unused: 0,
  StateChange32: 1,
  StateManipulate: 2,
  DebugIo: 3,
  Acknowledge: 4,
  Resend: 5,
  Reset: 6,
  StateChange64: 7,
  PollBreakin: 8,
  TraceIo: 9,
  ControlRequest: 10,
  FileIo: 11,
  Max: 12,
} as const;

const packetTypeNames = [
  'UNUSED',
  'KD_STATE_CHANGE32',
  'KD_STATE_MANIPULATE',
  'KD_DEBUG_IO',
  'KD_ACKNOWLEDGE',
  'KD_RESEND',
  'KD_RESET',
  'KD_STATE_CHANGE64',
  'KD_POLL_BREAKIN',
  'KD_TRACE_IO',
  'KD_CONTROL_REQUEST',
  'KD_FILE_IO',
] as const;

/** `KD_STATE_MANIPULATE` etc.; `PACKET_TYPE_<n>` for values ≥ 12. */
export function packetTypeName(type: number): string {
  return packetTypeNames[type] ?? `PACKET_TYPE_${type}`;
}

/** Manipulate API numbers (spec 2.2). */
export const KdApi = {
  ReadVirtualMemory: 0x3130,
  WriteVirtualMemory: 0x3131,
  GetContext: 0x3132,
  SetContext: 0x3133,
  WriteBreakPoint: 0x3134,
  RestoreBreakPoint: 0x3135,
  Continue: 0x3136,
  ReadControlSpace: 0x3137,
  WriteControlSpace: 0x3138,
  ReadIoSpace: 0x3139,
  WriteIoSpace: 0x313a,
  Reboot: 0x313b,
  ContinueApi2: 0x313c,
  ReadPhysicalMemory: 0x313d,
  WritePhysicalMemory: 0x313e,
  QuerySpecialCalls: 0x313f,
  SetSpecialCall: 0x3140,
  ClearSpecialCalls: 0x3141,
  SetInternalBreakPoint: 0x3142,
  GetInternalBreakPoint: 0x3143,
  ReadIoSpaceExtended: 0x3144,
  WriteIoSpaceExtended: 0x3145,
  GetVersion: 0x3146,
  WriteBreakPointEx: 0x3147,
  RestoreBreakPointEx: 0x3148,
  CauseBugCheck: 0x3149,
  SwitchProcessor: 0x3150,
  PageIn: 0x3151,
  ReadMachineSpecificRegister: 0x3152,
  WriteMachineSpecificRegister: 0x3153,
  OldVlm1: 0x3154,
  OldVlm2: 0x3155,
  SearchMemory: 0x3156,
  GetBusData: 0x3157,
  SetBusData: 0x3158,
  CheckLowMemory: 0x3159,
  ClearAllInternalBreakpoints: 0x315a,
  FillMemory: 0x315b,
  QueryMemory: 0x315c,
  SwitchPartition: 0x315d,
  WriteCustomBreakpoint: 0x315e,
  GetContextEx: 0x315f,
  SetContextEx: 0x3160,
} as const;

export type KdApiName = keyof typeof KdApi;

const apiNames = new Map<number, KdApiName>(Object.entries(KdApi).map(([name, n]) => [n, name as KdApiName]));

/** `ReadVirtualMemory` etc., or undefined for a number spec 2.2 does not name. */
export function kdApiName(apiNumber: number): KdApiName | undefined {
  return apiNames.get(apiNumber);
}

/** Wait-state-change kinds (spec 2.5). */
export const KdStateChange = {
  Exception: 0x3030,
  LoadSymbols: 0x3031,
  CommandString: 0x3032,
  /** OR-ed into NewState for a change from an alternate source (partition). */
  AlternateFlag: 0x10000,
} as const;

/** DEBUG_IO, TRACE_IO, FILE_IO and CONTROL_REQUEST API numbers (spec 2.7). */
export const KdDebugIoApi = { PrintString: 0x3230, GetString: 0x3231 } as const;
export const KdTraceIoApi = { PrintTrace: 0x3330 } as const;
export const KdFileIoApi = { CreateFile: 0x3430, ReadFile: 0x3431, WriteFile: 0x3432, CloseFile: 0x3433 } as const;
export const KdControlRequestApi = { RequestHardwareBp: 0x4300, ReleaseHardwareBp: 0x4301 } as const;

/** NTSTATUS and continue-status values the sessions use. */
export const NtStatus = {
  Success: 0,
  Unsuccessful: 0xc0000001,
  NoSuchFile: 0xc000000f,
  AccessViolation: 0xc0000005,
  /**
   * STATUS_PORT_DISCONNECTED: what a router answers, on the target's behalf, for a request the
   * target vanished under (the guest process died, the VM powered off). DebuggerSession turns it
   * into ERR_KD_TARGET_GONE.
   */
  PortDisconnected: 0xc0000037,
  /** STATUS_NO_MORE_ENTRIES: SearchMemory found no match. */
  NoMoreEntries: 0x8000001a,
  Breakpoint: 0x80000003,
  SingleStep: 0x80000004,
  WakeSystemDebugger: 0x80000007,
  DbgExceptionHandled: 0x00010001,
  DbgContinue: 0x00010002,
  DbgExceptionNotHandled: 0x80010001,
} as const;

/** NT_SUCCESS: severity bits 00 or 01. */
export function ntSuccess(status: number): boolean {
  return status >>> 0 < 0x80000000;
}

/** Sizes and limits (spec 1.1, 2.1, 2.5, 2.8). */
export const KdLimits = {
  /** Largest payload Windows sends and accepts. */
  MaxPayload: 4000,
  /** Largest payload a lenient receiver accepts (QEMU's stub). */
  MaxAcceptPayload: 4096,
  ManipulateSize: 0x38,
  StateChangeSize: 0xf0,
  DebugIoSize: 0x10,
  TraceIoSize: 0x40,
  FileIoSize: 0x40,
  ControlRequestSize: 0x0c,
  GetVersionSize: 0x28,
  /** 4000 − 56: the most data one manipulate packet carries. */
  MaxManipulateData: 4000 - 0x38,
  Amd64ContextSize: 0x4d0,
  X86ContextSize: 0x2cc,
  Amd64SpecialRegistersSize: 0xe0,
  InstructionStreamSize: 16,
} as const;
