/**
 * `@vmkd/connect/internal`: helpers a sibling truly needs (the bench starts its raw-limit replier
 * the way connect starts a target in a child process). Not part of the public API.
 */
export { childArgs, exitWithParent, startReadyChild } from './child/ready-child.js';
export type { ReadyChild } from './child/ready-child.js';
