export { openMessageChannel } from './message-channel.js';
export type { MessageChannel, MessageChannelOptions } from './message-channel.js';
export { createRpci } from './rpci.js';
export type { Rpci, RpciOptions, RpciReply } from './rpci.js';
export { GuestRpcErrorCode } from './errors.js';
