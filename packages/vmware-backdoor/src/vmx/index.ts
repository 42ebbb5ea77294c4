export { createEmulatedVmx } from './emulated-vmx.js';
export type { EmulatedVmx, EmulatedVmxOptions } from './emulated-vmx.js';
export { VmxErrorCode } from './errors.js';
export type { GuestInfoStore } from './standard-handlers.js';
export type { RpciHandler, RpciHandlerContext, RpciHandlerResult, VmxFault, VmxStats } from './types.js';
