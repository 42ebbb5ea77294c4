/**
 * `@vmkd/vmware-backdoor/internal`: the machinery under the public API (stub tables, the raw
 * native loader, the harness's trap decoder and CPUID emulation, proxy-pipe framing), for this
 * package's tests and tools. Not part of the public API: it changes when the implementation does.
 */
export { SYSV_STUBS, WIN64_STUBS, RegisterSlot, REGISTER_BLOCK_SLOTS, stubBytes, stubsForPlatform } from './native/stubs.js';
export type { StubAbi, StubInstruction, StubListing, StubName, StubSet } from './native/stubs.js';
export { loadNative, createRegisterBlock } from './native/load-native.js';
export type { CpuidResult, NativeStubs, RegisterBlock } from './native/load-native.js';
export type { ExecutablePage } from './native/exec-page.js';
export { vendorFromCpuid } from './native/detect.js';
export { NATIVE_HB_MAX_BYTES } from './native/native-port.js';
export { probeInChildProcess } from './native/probe-child.js';
export type { ChildProbeOptions, ChildProbeResult } from './native/probe-child.js';
export { emulateCpuid } from './harness/cpuid-emulation.js';
export { decodeTrap } from './harness/decode-trap.js';
export type { DecodedTrap, TrapKind } from './harness/decode-trap.js';
export { ProxyFrameReader, encodeProxyFrame } from './proxy-pipe/framing.js';
