export { createKdrpcHost } from './host.js';
export type { KdrpcHost, KdrpcHostOptions, KdrpcHostStatus } from './host.js';
export { createKdrpcGuestLink, kdrpcCallOverRpci } from './guest.js';
export type { KdrpcCall, KdrpcGuestLink, KdrpcGuestLinkOptions, KdrpcGuestStatus } from './guest.js';
export { createKdrpcGuestStack } from './stack.js';
export type { KdrpcGuestStack, KdrpcGuestStackOptions } from './stack.js';
export { KdrpcLinkErrorCode } from './errors.js';
