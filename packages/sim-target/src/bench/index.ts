/**
 * `@vmkd/sim-target/bench`: measurements the benchmark (`vmkd bench`) runs against the virtual
 * kernel. They open real sockets, so they live apart from the main entry.
 */
export { measureKdcomRecovery } from './kdcom-recovery.js';
export type { KdcomRecoveryOptions, KdcomRecoveryResult } from './kdcom-recovery.js';
