export * from './constants.js';
export * from './errors.js';
export type * from './types.js';
export { EMPTY_KD_CONTEXT, EMPTY_SKB } from './types.js';
export { encodeKdrpcRequest, decodeKdrpcRequest, withKdrpcPrefix, stripKdrpcPrefix, kdrpcTestRequest } from './request.js';
export { encodeKdrpcReply, decodeKdrpcReply, withKdrpcStatusPrefix } from './reply.js';
export type { DecodeKdrpcReplyOptions } from './reply.js';
export { kdrpcTestPattern, checkKdrpcTestPattern } from './test-pattern.js';
