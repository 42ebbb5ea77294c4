import type { Clock } from '../clock.js';

/** The KDCOM link's clock: kd-protocol's one `Clock` type (kept under this name for existing callers). */
export type KdcomClock = Clock;
export { systemClock } from '../clock.js';
