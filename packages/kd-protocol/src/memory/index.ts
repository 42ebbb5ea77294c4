export * from './memory-byte-pair.js';
export * from './memory-packet-pair.js';
