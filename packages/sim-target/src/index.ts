export { createSimTarget } from './sim-target.js';
export type { SimTarget, SimTargetOptions, SimTargetStats, BreakpointInfo } from './sim-target.js';
export { buildProfile, buildNames, isBuildName } from './builds.js';
export type { BuildName, BuildProfile, EprocessOffsets, KthreadOffsets, ProcessorBlockOffsets } from './builds.js';
export { expectedByteAt, fillExpected } from './data-formula.js';
// The event-loop clock is kd-protocol's `systemClock` (one owner); SimClock adapts it in clock.ts.
export { createManualClock } from './clock.js';
export type { SimClock, SimTimer, ManualClock } from './clock.js';
export { DEFAULT_KERN_BASE, GlobalOffset } from './layout.js';
export type { SimLayout, DataRegion } from './layout.js';
export type { LoadedModule, SimProcess } from './kernel-builder.js';
export { ExceptionCode } from './virtual-cpu.js';
export { SimTargetErrorCode } from './errors.js';
