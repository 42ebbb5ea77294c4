/**
 * The VMware backdoor ABI and GuestRPC protocol numbers (vmware-backdoor spec §2 and §4).
 * Shared by the guest side (native stubs, channels), the emulated VMX and the ptrace harness.
 */

export const BDOOR_MAGIC = 0x564d5868; // "VMXh"
export const BDOOR_PORT = 0x5658; // low bandwidth, "VX"
export const BDOORHB_PORT = 0x5659; // high bandwidth, "VY"

/** High-bandwidth commands (they go in BX, not CX). */
export const BDOORHB_CMD_MESSAGE = 0;
export const BDOORHB_CMD_VASSERT = 1;

/** Flags that replace the port number in DX for the VMCALL/VMMCALL form. */
export const HYPERCALL_FLAG_HB = 0x1;
export const HYPERCALL_FLAG_WRITE = 0x2;

/** Low-bandwidth backdoor commands (CX bits 0–15). */
export const BackdoorCommand = {
  GetMhz: 1,
  GetVersion: 10,
  GetHwVersion: 17,
  GetUuid: 19,
  GetMemSize: 20,
  GetTime: 23,
  Message: 30,
  GetTimeFull: 46,
  NestingControl: 63,
  GetVcpuInfo: 68,
  GetBuildNum: 100,
} as const;

/** GETVERSION's product type in ECX. */
export const ProductType = { Express: 1, Esx: 2, Server: 3, Workstation: 4, Ace: 5 } as const;

/** GuestRPC message types (CX bits 16–31 of a MESSAGE call). */
export const MessageType = {
  Open: 0,
  SendSize: 1,
  SendPayload: 2,
  RecvSize: 3,
  RecvPayload: 4,
  RecvStatus: 5,
  Close: 6,
} as const;

/** GuestRPC protocols (EBX on OPEN). */
export const RPCI_PROTOCOL = 0x49435052; // "RPCI"
export const TCLO_PROTOCOL = 0x4f4c4354; // "TCLO"
export const GUESTMSG_FLAG_COOKIE = 0x80000000;

/** Status bits, in ECX bits 16–31 (LB) or EBX bits 16–31 (HB). */
export const MessageStatus = {
  Success: 0x0001,
  DoRecv: 0x0002,
  Closed: 0x0004,
  Unsent: 0x0008,
  Checkpoint: 0x0010,
  PowerOff: 0x0020,
  Timeout: 0x0040,
  HighBandwidth: 0x0080,
} as const;

/** The only status bit a guest may supply (MESSAGE_STATUS_GUEST_MASK). */
export const MESSAGE_STATUS_GUEST_MASK = MessageStatus.Success;

export const GUESTMSG_MAX_CHANNEL = 128;
/** Largest guest-to-host message. */
export const GUESTMSG_MAX_IN_SIZE = 64 * 1024;

/** CPUID leaves used for detection (spec §2.4, §5). */
export const CPUID_HYPERVISOR_BIT = 1 << 31; // CPUID.1:ECX[31]
export const CPUID_VMW_VENDOR_LEAF = 0x40000000;
export const CPUID_VMW_FEATURES_LEAF = 0x40000010;
export const VMW_VENDOR_STRING = 'VMwareVMware';
export const CPUID_VMW_FEATURES_ECX_VMMCALL = 1 << 0;
export const CPUID_VMW_FEATURES_ECX_VMCALL = 1 << 1;

/** `ECX` for a MESSAGE call of the given type. */
export function messageEcx(type: number): number {
  return ((type << 16) | BackdoorCommand.Message) >>> 0;
}

/** The status half of a register (ECX for LB calls, EBX for HB calls). */
export function statusOf(register: number): number {
  return register >>> 16;
}
