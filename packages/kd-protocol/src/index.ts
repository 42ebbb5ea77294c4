export * from './errors.js';
export type * from './byte-link.js';
export * from './packet-link.js';
export type * from './target-backend.js';
export * from './kdcom/index.js';
export * from './memory/index.js';
export * from './api/index.js';
export * from './kdrpc/index.js';
export * from './session/index.js';
