/**
 * `@vmkd/kd-protocol/testing`: what another package's tests need to play both sides of a link
 * without I/O: in-memory byte and packet pairs (both ends exposed) and a virtual clock for the
 * KDCOM link's timers.
 */
export * from './memory-byte-pair.js';
export * from './memory-packet-pair.js';
export { createVirtualClock, type VirtualClock } from '../kdcom/virtual-clock.js';
