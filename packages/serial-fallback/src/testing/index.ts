export { socatSkipReason, startPtyPair } from './pty-pair.js';
export type { PtyPair } from './pty-pair.js';
