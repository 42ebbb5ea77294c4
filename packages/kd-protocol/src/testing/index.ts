/**
 * `@vmkd/kd-protocol/testing`: what another package's tests need to play both sides of a link
 * without I/O (in-memory byte and packet pairs, both ends exposed, and a virtual clock for timers),
 * and the PacketLink conformance suite every PacketLink implementation runs. Also the one place
 * tests ask what the machine can do (Unix sockets, ptys, signals, socat...): the only I/O here, a
 * probe for a program, and only in this test kit, never in the package's main entry.
 */
export { createMemoryBytePair } from '../memory/memory-byte-pair.js';
export type { ByteFault, MemoryBytePairOptions, MemoryByteLink, MemoryDirection } from '../memory/memory-byte-pair.js';
export { createMemoryPacketPair } from '../memory/memory-packet-pair.js';
export type { MemoryPacketLink, MemoryPacketPairOptions } from '../memory/memory-packet-pair.js';
export { createVirtualClock } from '../kdcom/virtual-clock.js';
export type { VirtualClock } from '../kdcom/virtual-clock.js';
export { describePacketLinkContract } from './packet-link-contract.js';
export type { PacketLinkContractOptions, PacketLinkPair } from './packet-link-contract.js';
export { capabilityMissing, hasCapabilities, skipUnlessCapable, titleWithSkip } from './capabilities.js';
export type { Capability } from './capabilities.js';
