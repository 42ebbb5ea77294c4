export * from './errors.js';
export type * from './byte-link.js';
export * from './packet-link.js';
export type * from './target-backend.js';
