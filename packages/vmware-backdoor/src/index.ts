export * from './abi.js';
export type * from './backdoor-port.js';
export * from './native/index.js';
export * from './harness/index.js';
export * from './vmx/index.js';
export * from './guestrpc/index.js';
export * from './kdrpc/index.js';
export * from './proxy-pipe/index.js';
