export { runUnderHarness } from './run-under-harness.js';
export type { HarnessExit, HarnessOptions, HarnessRun } from './run-under-harness.js';
export type { HarnessStats } from './trace-protocol.js';
export { emulateCpuid } from './cpuid-emulation.js';
export type { CpuidRegs, HarnessCpuidOptions } from './cpuid-emulation.js';
export { decodeTrap } from './decode-trap.js';
export type { DecodedTrap, TrapKind } from './decode-trap.js';
export { HarnessErrorCode } from './errors.js';
