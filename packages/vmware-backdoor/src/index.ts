// The backdoor ABI (vmware-backdoor spec §1–2): facts a caller of the port needs.
export {
  BDOOR_MAGIC,
  BDOOR_PORT,
  BDOORHB_PORT,
  BDOORHB_CMD_MESSAGE,
  BDOORHB_CMD_VASSERT,
  HYPERCALL_FLAG_HB,
  HYPERCALL_FLAG_WRITE,
  BackdoorCommand,
  ProductType,
  MessageType,
  RPCI_PROTOCOL,
  TCLO_PROTOCOL,
  GUESTMSG_FLAG_COOKIE,
  MessageStatus,
  MESSAGE_STATUS_GUEST_MASK,
  GUESTMSG_MAX_CHANNEL,
  GUESTMSG_MAX_IN_SIZE,
  CPUID_HYPERVISOR_BIT,
  CPUID_VMW_VENDOR_LEAF,
  CPUID_VMW_FEATURES_LEAF,
  VMW_VENDOR_STRING,
  CPUID_VMW_FEATURES_ECX_VMMCALL,
  CPUID_VMW_FEATURES_ECX_VMCALL,
  messageEcx,
  statusOf,
} from './abi.js';
export type { BackdoorPort, BackdoorRegs } from './backdoor-port.js';
// Native stubs (koffi, loaded lazily) and VMware detection.
export { NativeErrorCode, BackdoorNativeErrorCode } from './native/errors.js';
export type { StubAbi, StubName } from './native/stubs.js';
export { detectVmware, requireVmware } from './native/detect.js';
export type { BackdoorForm, DetectOptions, VmwareDetection } from './native/detect.js';
export { createNativeBackdoorPort } from './native/native-port.js';
export type { NativeBackdoorPort, NativeBackdoorPortOptions } from './native/native-port.js';
// The ptrace trap-and-emulate harness.
export { runUnderHarness } from './harness/run-under-harness.js';
export type { HarnessExit, HarnessOptions, HarnessRun } from './harness/run-under-harness.js';
export { runUnderHarnessUntilReady } from './harness/run-until-ready.js';
export type { ReadyHarnessRun, RunUntilReadyOptions } from './harness/run-until-ready.js';
export { harnessUnavailableReason } from './harness/availability.js';
export type { HarnessStats } from './harness/trace-protocol.js';
export type { CpuidRegs, HarnessCpuidOptions } from './harness/cpuid-emulation.js';
export { HarnessErrorCode } from './harness/errors.js';
// The emulated VMX.
export { createEmulatedVmx } from './vmx/emulated-vmx.js';
export type { EmulatedVmxOptions } from './vmx/emulated-vmx.js';
export type { EmulatedVmx } from './vmx/types.js';
export { VmxErrorCode } from './vmx/errors.js';
export type { GuestInfoStore } from './vmx/types.js';
export type { RpciHandler, RpciHandlerContext, RpciHandlerResult, VmxFault, VmxStats } from './vmx/types.js';
// GuestRPC, both sides.
export { openMessageChannel } from './guestrpc/message-channel.js';
export type { MessageChannel, MessageChannelOptions } from './guestrpc/message-channel.js';
export { createRpci } from './guestrpc/rpci.js';
export type { Rpci, RpciOptions, RpciReply } from './guestrpc/rpci.js';
export { GuestRpcErrorCode } from './guestrpc/errors.js';
// VirtualKD's KDRPC, guest and host roles.
export { createKdrpcHost } from './kdrpc/host.js';
export type { KdrpcHost, KdrpcHostOptions, KdrpcHostStatus } from './kdrpc/host.js';
export { createKdrpcGuestLink, kdrpcCallOverRpci } from './kdrpc/guest.js';
export type { KdrpcCall, KdrpcGuestLink, KdrpcGuestLinkOptions, KdrpcGuestStatus } from './kdrpc/guest.js';
export { createKdrpcGuestStack } from './kdrpc/stack.js';
export type { KdrpcGuestStack, KdrpcGuestStackOptions } from './kdrpc/stack.js';
export { KdrpcLinkErrorCode } from './kdrpc/errors.js';
// VirtualKD's proxy pipe, and the guest schemes @vmkd/connect registers.
export { createKdrpcProxyPipeServer } from './proxy-pipe/server.js';
export type { KdrpcProxyPipeServer, KdrpcProxyPipeServerOptions, ProxyPipeDropped } from './proxy-pipe/server-types.js';
export { createKdrpcProxyPipeClient, kdrpcProxyVmxHandler } from './proxy-pipe/client.js';
export type { KdrpcProxyPipeClient, KdrpcProxyPipeClientOptions } from './proxy-pipe/client-types.js';
export { KDRPC_PROXY_PIPE_NAME, PROXY_PIPE_MAX_MESSAGE, ProxyPipeErrorCode } from './proxy-pipe/framing.js';
export { kdrpcProxyPipeGuestScheme, kdrpcProxyUnixGuestScheme } from './proxy-pipe/guest-schemes.js';
export type { KdrpcProxyGuestSpec } from './proxy-pipe/guest-schemes.js';
